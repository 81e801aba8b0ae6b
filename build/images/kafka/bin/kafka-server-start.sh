#!/bin/sh
exec java ${KAFKA_HEAP_OPTS:--Xms1G -Xmx1G} ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC} ${KAFKA_LOG4J_OPTS:-} -cp '/opt/kafka/libs/*' kafka.Kafka "$@"
