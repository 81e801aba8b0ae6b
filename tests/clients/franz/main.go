// franz-go (github.com/twmb/franz-go) as one of the tests' clients: the client with the newest
// flexible versions (Produce and Fetch by topic id). Same commands and output lines as
// tests/clients/JavaClient.java:
//   produce <bootstrap> <topic> <keyPrefix> <size,size,...>   values from payload(size, index)
//   consume <bootstrap> <topic> <group> <count>               prints "record <key> <size> <sha256>"
// CLIENT_ID in the environment sets the client id (the principal when the filter takes
// principals from client ids). A failure prints "error <elapsed ms> <message>" on stderr and
// exits 1, so a test can check which error the client surfaced and how long it took.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The same deterministic payload the TypeScript tests build (tests/e2e/payload.ts).
func payload(size, index int) []byte {
	b := make([]byte, size)
	for j := range b {
		b[j] = byte(index*31 + j*7 + (j >> 8))
	}
	return b
}

var start = time.Now()

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error %d %v\n", time.Since(start).Milliseconds(), err)
	os.Exit(1)
}

func clientID(fallback string) string {
	if v := os.Getenv("CLIENT_ID"); v != "" {
		return v
	}
	return fallback
}

func main() {
	if len(os.Args) < 6 {
		fmt.Fprintln(os.Stderr, "usage: franz produce|consume <bootstrap> <topic> <keyPrefix|group> <sizes|count>")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "produce":
		produce(os.Args[2], os.Args[3], os.Args[4], os.Args[5])
	case "consume":
		n, err := strconv.Atoi(os.Args[5])
		if err != nil {
			fail(err)
		}
		consume(os.Args[2], os.Args[3], os.Args[4], n)
	default:
		fmt.Fprintln(os.Stderr, "unknown command "+os.Args[1])
		os.Exit(2)
	}
}

func produce(bootstrap, topic, keyPrefix, sizes string) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ClientID(clientID("franz-producer")),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytes(4<<20),
		kgo.MaxBufferedBytes(64<<20),
		// Records go in order, each acknowledged before the next (offsets are printed).
		kgo.RecordRetries(5),
	)
	if err != nil {
		fail(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i, s := range strings.Split(sizes, ",") {
		size, err := strconv.Atoi(s)
		if err != nil {
			fail(err)
		}
		key := fmt.Sprintf("%s-%d", keyPrefix, i)
		r, err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: payload(size, i)}).First()
		if err != nil {
			fail(err)
		}
		fmt.Printf("produced %s %d\n", key, r.Offset)
	}
}

func consume(bootstrap, topic, group string, count int) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ClientID(clientID("franz-consumer")),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxBytes(16<<20),
	)
	if err != nil {
		fail(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got := 0
	for got < count {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			fail(fmt.Errorf("read %d of %d records: %w", got, count, ctx.Err()))
		}
		for _, fe := range fetches.Errors() {
			// A refused topic or group ends the run with the client's own error.
			fail(fmt.Errorf("%s: %w", fe.Topic, fe.Err))
		}
		fetches.EachRecord(func(r *kgo.Record) {
			sum := sha256.Sum256(r.Value)
			fmt.Printf("record %s %d %s\n", r.Key, len(r.Value), hex.EncodeToString(sum[:]))
			got++
		})
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		fail(err)
	}
	fmt.Printf("committed %d\n", got)
}
