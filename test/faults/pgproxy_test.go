package faults

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stallProxy is a loopback TCP proxy in front of PostgreSQL that can add
// latency and stall. While stalled it accepts connections but never connects
// them upstream, and the connections it was already forwarding stop
// forwarding mid-stream (nothing is closed: the peers just wait). A stalled
// connection stays dead after the stall ends, as one lost in a partition or a
// hung middlebox would; only connections opened afterwards are forwarded.
// Everything is closed when the test ends.
type stallProxy struct {
	ln       net.Listener
	upstream string
	latency  atomic.Int64 // nanoseconds added before forwarding each chunk
	// accepted counts every connection accepted; stalledAccepts those
	// accepted while stalled (attempts that can never succeed).
	accepted, stalledAccepts atomic.Int64

	mu      sync.Mutex
	stalled bool
	resumed chan struct{} // closed while not stalled
	conns   map[*proxyConn]struct{}
	closed  chan struct{}
	wg      sync.WaitGroup
}

// proxyConn is one client connection and, unless it arrived during a stall,
// its upstream connection.
type proxyConn struct {
	client, server net.Conn
	dead           atomic.Bool // stalled: forwards nothing any more
}

// startStallProxy listens on a free loopback port and forwards to upstream
// (host:port) until the test ends.
func startStallProxy(t *testing.T, upstream string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, upstream: upstream, resumed: make(chan struct{}),
		conns: map[*proxyConn]struct{}{}, closed: make(chan struct{})}
	close(p.resumed)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *stallProxy) Addr() string { return p.ln.Addr().String() }

// setLatency delays every chunk forwarded in either direction by d.
func (p *stallProxy) setLatency(d time.Duration) { p.latency.Store(int64(d)) }

// stall starts a stall: live connections go dead, new ones are held unanswered.
func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		return
	}
	p.stalled = true
	p.resumed = make(chan struct{})
	for c := range p.conns {
		c.dead.Store(true)
	}
}

// resume ends the stall for connections opened from now on.
func (p *stallProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.resumed)
	}
}

func (p *stallProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		pc := &proxyConn{client: c}
		p.mu.Lock()
		stalled := p.stalled
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		if stalled {
			p.stalledAccepts.Add(1)
			pc.dead.Store(true) // held open, never answered
			continue
		}
		p.wg.Add(1)
		go p.connect(pc)
	}
}

// connect dials upstream and pumps both directions.
func (p *stallProxy) connect(pc *proxyConn) {
	defer p.wg.Done()
	s, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		_ = pc.client.Close()
		return
	}
	p.mu.Lock()
	pc.server = s
	select {
	case <-p.closed:
		_ = s.Close()
	default:
	}
	p.mu.Unlock()
	p.wg.Add(2)
	go p.pump(pc, pc.server, pc.client)
	go p.pump(pc, pc.client, pc.server)
}

// pump copies src to dst, chunk by chunk, after the configured latency. Once
// the connection is dead it stops reading, so the sender's buffers fill as
// with a peer that went silent; a closed side closes the other.
func (p *stallProxy) pump(pc *proxyConn, dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		if pc.dead.Load() {
			<-p.closed
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.latency.Load()); d > 0 {
				time.Sleep(d)
			}
			if pc.dead.Load() {
				continue // lost in the stall
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !pc.dead.Load() || errors.Is(err, net.ErrClosed) {
				_ = dst.Close()
				_ = src.Close()
			}
			return
		}
	}
}

// close stops the proxy and closes every connection.
func (p *stallProxy) close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
	}
	close(p.closed)
	_ = p.ln.Close()
	for c := range p.conns {
		_ = c.client.Close()
		if c.server != nil {
			_ = c.server.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}
