// SPDX-License-Identifier: GPL-3.0-or-later

// go-gateway is FleetScope's benchmark peer: the same endpoint written the lean, straightforward Go way, so that
// run-bench.sh can put FleetScope's figures beside a strong, well-known model on the same machine in the same run.
//
//   - net/http, one goroutine per connection (net/http's own), no other goroutine per request;
//   - database/sql on mattn/go-sqlite3, WAL, synchronous=NORMAL, one connection;
//   - every POST goes to ONE writer goroutine, which waits up to -batch-wait (5 ms) to fill a batch of up to
//     -max-batch (4,096) requests, inserts them into one table through one prepared statement reused for the
//     whole transaction, commits, and only then lets each handler answer 204;
//   - the same validation as FleetScope's JSON contract (README.md, HTTP API), so both do the same work per request;
//   - nothing logged on the hot path, GOMAXPROCS left at its default.
//
// Build offline with Debian's packages (golang-github-mattn-go-sqlite3-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-gateway .
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// The limits of FleetScope's HTTP contract (README.md, HTTP API), so both gateways reject the same requests.
const (
	maxBodyBytes      = 1024 * 1024
	maxSamples        = 1000
	maxMetrics        = 256
	maxDeviceChars    = 128
	maxMetricChars    = 64
	retryAfterSeconds = 1
	identifierForm    = "characters of [A-Za-z0-9._:-]"
)

// wireSample is the JSON form. Unknown keys are refused by the decoder; pointers tell an absent ts from 0 and a
// null metric from 0. The JSON grammar has no NaN or Infinity, and encoding/json refuses a number beyond a
// float64's range, so every decoded metric value is finite.
type wireSample struct {
	Device  string              `json:"device"`
	Ts      *int64              `json:"ts"`
	Metrics map[string]*float64 `json:"metrics"`
}

func validName(s string, max int) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func check(i int, w *wireSample, now int64) error {
	if !validName(w.Device, maxDeviceChars) {
		return fmt.Errorf("sample %d: device %q: expected 1 to %d %s", i, w.Device, maxDeviceChars, identifierForm)
	}
	if w.Ts == nil {
		w.Ts = &now
	} else if *w.Ts < 0 {
		return fmt.Errorf("sample %d: ts %d: expected integer milliseconds since the Unix epoch", i, *w.Ts)
	}
	if len(w.Metrics) < 1 || len(w.Metrics) > maxMetrics {
		return fmt.Errorf("sample %d: %d metrics: expected 1 to %d", i, len(w.Metrics), maxMetrics)
	}
	for name, value := range w.Metrics {
		if !validName(name, maxMetricChars) {
			return fmt.Errorf("sample %d: metric name %q: expected 1 to %d %s", i, name, maxMetricChars,
				identifierForm)
		}
		if value == nil {
			return fmt.Errorf("sample %d: metric %q is null: expected a finite number", i, name)
		}
	}
	return nil
}

// decode accepts one sample object or an array of 1 to maxSamples, all or nothing.
func decode(body []byte, now int64) ([]wireSample, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty body: expected a sample object or an array of samples")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	var out []wireSample
	if trimmed[0] == '[' {
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("malformed sample array: %v", err)
		}
		if len(out) < 1 || len(out) > maxSamples {
			return nil, fmt.Errorf("array of %d samples: expected 1 to %d", len(out), maxSamples)
		}
	} else {
		out = make([]wireSample, 1)
		if err := dec.Decode(&out[0]); err != nil {
			return nil, fmt.Errorf("malformed sample: %v", err)
		}
	}
	if len(bytes.TrimLeft(trimmed[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, errors.New("trailing data after the JSON value: expected exactly one object or array")
	}
	for i := range out {
		if err := check(i, &out[i], now); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// request is one POST on its way to the writer. done is buffered (1) and reused through requestPool, so a
// request costs no channel allocation.
type request struct {
	samples []wireSample
	done    chan error
}

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan error, 1)} }}

// store owns the database. Only the writer goroutine touches db and insert; handlers reach it through queue.
type store struct {
	db        *sql.DB
	insert    *sql.Stmt
	queue     chan *request
	maxBatch  int
	batchWait time.Duration
	stopped   chan struct{}

	// Written by the writer once per batch, read by the -stats reporter.
	batches     atomic.Int64
	requests    atomic.Int64
	commitNanos atomic.Int64
}

// One table, one row per metric reading (the same rows FleetScope writes), appended in rowid order: no index.
const schema = `
CREATE TABLE IF NOT EXISTS samples(
    device TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL);
`

func openStore(path string, queue, maxBatch int, batchWait time.Duration) (*store, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	// One connection: the writer is its only user, so the statement prepared here is the one every tx reuses.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("creating the schema in %s: %v", path, err)
	}
	insert, err := db.Prepare("INSERT INTO samples(device, metric, ts, value) VALUES (?, ?, ?, ?)")
	if err != nil {
		return nil, err
	}
	return &store{
		db:        db,
		insert:    insert,
		queue:     make(chan *request, queue),
		maxBatch:  maxBatch,
		batchWait: batchWait,
		stopped:   make(chan struct{}),
	}, nil
}

// submit returns false when the queue is full: the caller answers 503.
func (s *store) submit(r *request) bool {
	select {
	case s.queue <- r:
		return true
	default:
		return false
	}
}

// commit writes one batch in one transaction, through the statement prepared on the store's only connection.
func (s *store) commit(batch []*request) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	insert := tx.Stmt(s.insert)
	for _, r := range batch {
		for i := range r.samples {
			smp := &r.samples[i]
			for name, value := range smp.Metrics {
				if _, err := insert.Exec(smp.Device, name, *smp.Ts, *value); err != nil {
					tx.Rollback()
					return err
				}
			}
		}
	}
	return tx.Commit()
}

// writer takes the first waiting request, then waits up to batchWait for more, up to maxBatch requests, commits
// them in one transaction, and answers every request of the batch.
func (s *store) writer() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.maxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		first, ok := <-s.queue
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		timer.Reset(s.batchWait)
		open := true
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r, more := <-s.queue:
				if !more {
					open = false
					break fill
				}
				batch = append(batch, r)
			case <-timer.C:
				break fill
			}
		}
		// A timer that fired unread would end the next batch's wait at once.
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		began := time.Now()
		err := s.commit(batch)
		s.commitNanos.Add(int64(time.Since(began)))
		s.batches.Add(1)
		s.requests.Add(int64(len(batch)))
		for _, r := range batch {
			r.done <- err
		}
		if !open {
			return
		}
	}
}

// reportStats prints, each second with commits, the batch rate, the requests per batch and the commit time.
func (s *store) reportStats() {
	var lastBatches, lastRequests, lastNanos int64
	for range time.Tick(time.Second) {
		b, r, n := s.batches.Load(), s.requests.Load(), s.commitNanos.Load()
		if b == lastBatches {
			continue
		}
		db, dr, dn := b-lastBatches, r-lastRequests, n-lastNanos
		fmt.Fprintf(os.Stderr, "commits %d/s, %.1f requests per commit, %.2f ms per commit, %d requests/s\n",
			db, float64(dr)/float64(db), float64(dn)/float64(db)/1e6, dr)
		lastBatches, lastRequests, lastNanos = b, r, n
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

func jsonContentType(ct string) bool {
	if ct == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

func (s *store) handleTelemetry(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on /v1/telemetry: expected POST")
		return
	}
	if r.ContentLength < 0 && len(r.TransferEncoding) == 0 {
		writeError(w, http.StatusLengthRequired, "Content-Length required")
		return
	}
	if ct := r.Header.Get("Content-Type"); !jsonContentType(ct) {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("content type %q not supported: expected application/json", ct))
		return
	}
	if r.ContentLength > maxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body of %d bytes: at most %d", r.ContentLength, maxBodyBytes))
		return
	}
	var body []byte
	var err error
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	samples, err := decode(body, time.Now().UnixMilli())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := requestPool.Get().(*request)
	req.samples = samples
	if !s.submit(req) {
		req.samples = nil
		requestPool.Put(req)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable,
			fmt.Sprintf("store queue full (%d requests): retry after %d s", cap(s.queue), retryAfterSeconds))
		return
	}
	err = <-req.done
	req.samples = nil
	requestPool.Put(req)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "commit failed: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "HOST:PORT to accept device connections on")
	dbPath := flag.String("db", "go-gateway.db", "SQLite database file")
	queue := flag.Int("queue", 65536, "requests waiting for the writer, at most (503 beyond)")
	maxBatch := flag.Int("max-batch", 4096, "requests per commit, at most")
	batchWait := flag.Duration("batch-wait", 5*time.Millisecond, "how long the writer waits to fill a batch")
	stats := flag.Bool("stats", false, "print commit statistics on stderr every second")
	cpuProfile := flag.String("cpuprofile", "", "write a pprof CPU profile of the whole run to this file")
	flag.Parse()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatalf("creating %s: %v", *cpuProfile, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatalf("starting the CPU profile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}

	st, err := openStore(*dbPath, *queue, *maxBatch, *batchWait)
	if err != nil {
		log.Fatalf("opening %s: %v", *dbPath, err)
	}
	go st.writer()
	if *stats {
		go st.reportStats()
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/v1/telemetry", st.handleTelemetry)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","queued_requests":%d}`, len(st.queue))
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       300 * time.Second,
		MaxHeaderBytes:    8 * 1024,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listening on %s: %v", *listen, err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serving: %v", err)
	}
	// Shutdown waited for the handlers, so nothing sends on the queue any more.
	close(st.queue)
	<-st.stopped
	st.insert.Close()
	st.db.Close()
}
