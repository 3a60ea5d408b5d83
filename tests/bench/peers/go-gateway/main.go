// SPDX-License-Identifier: GPL-3.0-or-later

// go-gateway is the benchmark peer of FleetScope: the same job done the idiomatic Go way, net/http with one
// goroutine per connection and SQLite group commit behind a channel. It exists so that run-bench.sh can put
// FleetScope's figures beside a well-known model on the same machine, in the same run.
//
// Build offline with Debian's packages:
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
	"math"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// The limits of DESIGN.md's HTTP contract, so both gateways reject the same requests.
const (
	maxBodyBytes      = 1024 * 1024
	maxSamples        = 1000
	maxMetrics        = 256
	maxDeviceChars    = 128
	maxMetricChars    = 64
	retryAfterSeconds = 1
)

type sample struct {
	device  string
	ts      int64
	metrics []metric
}

type metric struct {
	name  string
	value float64
}

// request is one POST's samples on its way to the writer; done receives the commit outcome.
type request struct {
	samples []sample
	done    chan error
}

// wireSample mirrors the JSON form; pointers tell "absent" from "zero".
type wireSample struct {
	Device  *string                `json:"device"`
	Ts      *json.Number           `json:"ts"`
	Metrics map[string]json.Number `json:"metrics"`
}

func validName(s string, max int) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func convert(w wireSample, now int64) (sample, error) {
	if w.Device == nil {
		return sample{}, errors.New("sample without \"device\": expected 1 to 128 characters of [A-Za-z0-9._:-]")
	}
	if !validName(*w.Device, maxDeviceChars) {
		return sample{}, fmt.Errorf("invalid device %q: expected 1 to %d characters of [A-Za-z0-9._:-]",
			*w.Device, maxDeviceChars)
	}
	s := sample{device: *w.Device, ts: now}
	if w.Ts != nil {
		ts, err := strconv.ParseInt(string(*w.Ts), 10, 64)
		if err != nil {
			return sample{}, fmt.Errorf("invalid ts %s: expected integer milliseconds since the Unix epoch", *w.Ts)
		}
		s.ts = ts
	}
	if len(w.Metrics) < 1 || len(w.Metrics) > maxMetrics {
		return sample{}, fmt.Errorf("sample has %d metrics: expected 1 to %d", len(w.Metrics), maxMetrics)
	}
	s.metrics = make([]metric, 0, len(w.Metrics))
	for name, num := range w.Metrics {
		if !validName(name, maxMetricChars) {
			return sample{}, fmt.Errorf("invalid metric name %q: expected 1 to %d characters of [A-Za-z0-9._:-]",
				name, maxMetricChars)
		}
		v, err := strconv.ParseFloat(string(num), 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return sample{}, fmt.Errorf("metric %q is %s: expected a finite number", name, num)
		}
		s.metrics = append(s.metrics, metric{name, v})
	}
	return s, nil
}

// decode accepts one sample object or an array of up to maxSamples.
func decode(body []byte) ([]sample, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("empty body: expected a sample object or an array of samples")
	}
	now := time.Now().UnixMilli()
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var wires []wireSample
	if trimmed[0] == '[' {
		if err := dec.Decode(&wires); err != nil {
			return nil, fmt.Errorf("malformed JSON array: %v", err)
		}
		if len(wires) < 1 || len(wires) > maxSamples {
			return nil, fmt.Errorf("array has %d samples: expected 1 to %d", len(wires), maxSamples)
		}
	} else {
		var w wireSample
		if err := dec.Decode(&w); err != nil {
			return nil, fmt.Errorf("malformed JSON sample: %v", err)
		}
		wires = []wireSample{w}
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value: expected exactly one object or array")
	}
	out := make([]sample, 0, len(wires))
	for _, w := range wires {
		s, err := convert(w, now)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// store owns the database; only the writer goroutine touches db, the handlers reach it through queue.
type store struct {
	db       *sql.DB
	queue    chan request
	queued   atomic.Int64 // samples accepted but not yet committed
	bound    int64
	maxBatch int
	devices  map[string]int64
	metrics  map[string]int64
	stopped  chan struct{}

	insertSample *sql.Stmt
	touchDevice  *sql.Stmt

	// Read by the -stats reporter; written by the writer goroutine only.
	batches     atomic.Int64
	requests    atomic.Int64
	commitNanos atomic.Int64
}

const schema = `
CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    samples INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS samples (
    device_id INTEGER NOT NULL REFERENCES devices(id),
    metric_id INTEGER NOT NULL REFERENCES metrics(id),
    ts INTEGER NOT NULL,
    value REAL NOT NULL);
CREATE INDEX IF NOT EXISTS samples_by_device ON samples(device_id, metric_id, ts);
PRAGMA user_version = 1;
`

func openStore(path string, bound int64, maxBatch int) (*store, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000")
	if err != nil {
		return nil, err
	}
	// One connection: the writer is the only user, and a pool would hand transactions to other connections.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("creating the schema in %s: %v", path, err)
	}
	insertSample, err := db.Prepare("INSERT INTO samples(device_id, metric_id, ts, value) VALUES (?, ?, ?, ?)")
	if err != nil {
		return nil, err
	}
	touchDevice, err := db.Prepare("UPDATE devices SET first_seen = min(first_seen, ?), last_seen = max(last_seen, ?), " +
		"samples = samples + ? WHERE id = ?")
	if err != nil {
		return nil, err
	}
	return &store{
		insertSample: insertSample,
		touchDevice:  touchDevice,
		db:           db,
		queue:        make(chan request, 65536),
		bound:        bound,
		maxBatch:     maxBatch,
		devices:      map[string]int64{},
		metrics:      map[string]int64{},
		stopped:      make(chan struct{}),
	}, nil
}

// submit returns false when the queue is over its bound: the caller answers 503.
func (s *store) submit(r request) bool {
	n := int64(len(r.samples))
	if s.queued.Add(n) > s.bound {
		s.queued.Add(-n)
		return false
	}
	select {
	case s.queue <- r:
		return true
	default:
		s.queued.Add(-n)
		return false
	}
}

func (s *store) idOf(tx *sql.Tx, cache map[string]int64, insert, query string, name string, args ...any) (int64, error) {
	if id, ok := cache[name]; ok {
		return id, nil
	}
	if _, err := tx.Exec(insert, append([]any{name}, args...)...); err != nil {
		return 0, err
	}
	var id int64
	if err := tx.QueryRow(query, name).Scan(&id); err != nil {
		return 0, err
	}
	cache[name] = id
	return id, nil
}

// commit writes one batch in one transaction: one row per metric reading, and one update per device of the
// batch rather than per sample.
func (s *store) commit(batch []request) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	fail := func(err error) error {
		tx.Rollback()
		return err
	}
	insertSample := tx.Stmt(s.insertSample)
	touchDevice := tx.Stmt(s.touchDevice)
	type seen struct{ first, last, n int64 }
	touched := map[int64]*seen{}
	newDevices := map[string]int64{}
	newMetrics := map[string]int64{}
	for _, r := range batch {
		for _, smp := range r.samples {
			dev, ok := s.devices[smp.device]
			if !ok {
				dev, err = s.idOf(tx, newDevices,
					"INSERT INTO devices(name, first_seen, last_seen) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
					"SELECT id FROM devices WHERE name = ?", smp.device, smp.ts, smp.ts)
				if err != nil {
					return fail(err)
				}
			}
			if t := touched[dev]; t != nil {
				t.first = min64(t.first, smp.ts)
				t.last = max64(t.last, smp.ts)
				t.n++
			} else {
				touched[dev] = &seen{smp.ts, smp.ts, 1}
			}
			for _, m := range smp.metrics {
				mid, ok := s.metrics[m.name]
				if !ok {
					mid, err = s.idOf(tx, newMetrics, "INSERT INTO metrics(name) VALUES (?) ON CONFLICT(name) DO NOTHING",
						"SELECT id FROM metrics WHERE name = ?", m.name)
					if err != nil {
						return fail(err)
					}
				}
				if _, err := insertSample.Exec(dev, mid, smp.ts, m.value); err != nil {
					return fail(err)
				}
			}
		}
	}
	for dev, t := range touched {
		if _, err := touchDevice.Exec(t.first, t.last, t.n, dev); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Ids become known only once their rows are durable, so a rolled-back batch leaves no stale cache entry.
	for k, v := range newDevices {
		s.devices[k] = v
	}
	for k, v := range newMetrics {
		s.metrics[k] = v
	}
	return nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// writer drains the queue: it blocks for the first request, takes whatever else is waiting up to maxBatch
// samples, commits once, then answers every request of the batch.
func (s *store) writer() {
	defer close(s.stopped)
	batch := make([]request, 0, 1024)
	for {
		first, ok := <-s.queue
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		n := len(first.samples)
	drain:
		for n < s.maxBatch {
			select {
			case r, ok := <-s.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
				n += len(r.samples)
			default:
				break drain
			}
		}
		began := time.Now()
		err := s.commit(batch)
		s.commitNanos.Add(int64(time.Since(began)))
		s.batches.Add(1)
		s.requests.Add(int64(len(batch)))
		s.queued.Add(-int64(n))
		for _, r := range batch {
			r.done <- err
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(body)
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
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("content type %q not supported: expected application/json", r.Header.Get("Content-Type")))
		return
	}
	if r.ContentLength > maxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("body of %d bytes: at most %d", r.ContentLength, maxBodyBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	samples, err := decode(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	done := make(chan error, 1)
	if !s.submit(request{samples, done}) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable,
			fmt.Sprintf("store queue over %d samples: retry after %d s", s.bound, retryAfterSeconds))
		return
	}
	if err := <-done; err != nil {
		writeError(w, http.StatusInternalServerError, "commit failed: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "HOST:PORT to accept device connections on")
	dbPath := flag.String("db", "go-gateway.db", "SQLite database file")
	queueSamples := flag.Int64("store-queue", 262144, "samples waiting for commit, at most (503 beyond)")
	maxBatch := flag.Int("max-batch", 16384, "samples per commit, at most")
	stats := flag.Bool("stats", false, "print commit statistics on stderr every second")
	flag.Parse()

	st, err := openStore(*dbPath, *queueSamples, *maxBatch)
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
		fmt.Fprintf(w, `{"status":"ok","queued_samples":%d}`, st.queued.Load())
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
	st.db.Close()
}
