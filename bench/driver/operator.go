package driver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/scim-operator/scim-operator/internal/childproc"
)

// Operator is the operator running as a subprocess of the driver (see RunChild).
type Operator struct {
	// SCIMAddr is the SCIM server's host:port.
	SCIMAddr string
	// Started is when the process was started: restart times count from it.
	Started time.Time
	control string
	proc    *childproc.Process
	log     *os.File
	http    *http.Client
}

// StartOperator starts the operator on the control plane of kubeconfig, its
// logs appended to logPath and env added to its environment, and returns once
// it printed its addresses (it is not ready to serve yet: see WaitReady).
func StartOperator(ctx context.Context, kubeconfig, logPath string, env ...string) (*Operator, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, ChildArg, "-kubeconfig", kubeconfig)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	o := &Operator{log: logf, http: &http.Client{Timeout: 2 * time.Minute}}
	o.Started = time.Now()
	// SIGKILL when the driver dies: an interrupted benchmark leaves no
	// operator behind.
	if o.proc, err = childproc.Start(cmd, syscall.SIGKILL); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting the operator: %w", err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		var a childAddrs
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			o.Stop()
			return nil, fmt.Errorf("operator printed %q: %w", line, err)
		}
		o.SCIMAddr, o.control = a.SCIM, a.Control
		return o, nil
	case <-o.proc.Done():
		return nil, fmt.Errorf("the operator exited at start (%v); see %s", o.proc.Err(), logPath)
	case <-time.After(time.Minute):
		o.Stop()
		return nil, errors.New("the operator printed no address within a minute")
	case <-ctx.Done():
		o.Stop()
		return nil, ctx.Err()
	}
}

// WaitReady polls readiness (cache synced, endpoints loaded, SCIM serving)
// every 10 ms and returns the time since the process started.
func (o *Operator) WaitReady(ctx context.Context, limit time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if err := o.get(ctx, "/readyz", nil); err == nil {
			return time.Since(o.Started), nil
		}
		select {
		case <-o.proc.Done():
			return 0, fmt.Errorf("the operator exited: %v", o.proc.Err())
		case <-ctx.Done():
			return 0, fmt.Errorf("operator not ready within %s", limit)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Mem samples the operator's memory and CPU; gc runs a GC first so the heap
// figure is the live heap.
func (o *Operator) Mem(ctx context.Context, gc bool) (MemSample, error) {
	var m MemSample
	path := "/mem"
	if gc {
		path += "?gc=1"
	}
	return m, o.get(ctx, path, &m)
}

// StartCPUProfile starts writing the operator's CPU profile to path.
func (o *Operator) StartCPUProfile(ctx context.Context, path string) error {
	return o.post(ctx, "/cpu/start?file="+url.QueryEscape(path))
}

// StopCPUProfile finishes the profile StartCPUProfile began.
func (o *Operator) StopCPUProfile(ctx context.Context) error { return o.post(ctx, "/cpu/stop") }

// SaveProfile writes a named runtime profile (heap, goroutine) to path.
func (o *Operator) SaveProfile(ctx context.Context, name, path string) error {
	resp, err := o.do(ctx, http.MethodGet, "/debug/pprof/"+name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}

// Metrics scrapes the operator's Prometheus metrics.
func (o *Operator) Metrics(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	resp, err := o.do(ctx, http.MethodGet, "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(resp.Body)
}

// Stop asks the operator to shut down (SIGTERM) and kills it after 30 s.
func (o *Operator) Stop() {
	o.proc.Stop(syscall.SIGTERM, 30*time.Second)
	o.log.Close()
}

func (o *Operator) do(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+o.control+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := o.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return resp, nil
}

func (o *Operator) get(ctx context.Context, path string, into any) error {
	resp, err := o.do(ctx, http.MethodGet, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if into == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

func (o *Operator) post(ctx context.Context, path string) error {
	resp, err := o.do(ctx, http.MethodPost, path)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
