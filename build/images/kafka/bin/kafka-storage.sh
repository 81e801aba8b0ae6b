#!/bin/sh
exec java ${KAFKA_HEAP_OPTS:--Xmx256m} ${KAFKA_JVM_PERFORMANCE_OPTS:-} ${KAFKA_LOG4J_OPTS:-} -cp '/opt/kafka/libs/*' kafka.tools.StorageTool "$@"
