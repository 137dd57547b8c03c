package localpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// portAttempts bounds retries with a fresh port when the picked one was taken.
const portAttempts = 3

// stopTimeout is how long Stop waits for a fast shutdown before killing.
const stopTimeout = 30 * time.Second

// Server is a running PostgreSQL child process. Its methods are safe for
// concurrent use.
type Server struct {
	dir      string
	port     int
	ownsDir  bool
	proc     *process
	stopOnce sync.Once
	stopErr  error
}

// Start runs a PostgreSQL server as described by opts and returns once it
// accepts connections and opts.Database exists. ctx bounds startup only; the
// server runs until Stop, or until the calling process dies.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	binDir, err := findBinDir(systemLookup(opts.BinDir))
	if err != nil {
		return nil, err
	}
	acct, err := currentAccount()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: opts.Dir}
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "localpg-"); err != nil {
			return nil, fmt.Errorf("creating temporary data directory: %w", err)
		}
		s.ownsDir = true
	}
	if s.dir, err = filepath.Abs(s.dir); err != nil {
		return nil, fmt.Errorf("resolving data directory: %w", err)
	}
	if err := s.start(ctx, binDir, acct, opts); err != nil {
		s.removeOwnedDir()
		return nil, err
	}
	return s, nil
}

// start initialises the data directory, launches postgres and waits for it.
func (s *Server) start(ctx context.Context, binDir string, acct account, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	if err := prepareDataDir(ctx, s.dir, binDir, acct, opts); err != nil {
		return err
	}
	if err := writeTLSFiles(s.dir, acct, opts); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.launch(ctx, binDir, acct, opts)
		if err == nil {
			break
		}
		if opts.Port != 0 || attempt == portAttempts || !errors.Is(err, errExitedEarly) {
			return err
		}
	}
	if opts.Database != defaultDatabase {
		if err := createDatabase(ctx, s.DSN(defaultDatabase), opts.Database); err != nil {
			_ = s.Stop()
			return err
		}
	}
	return nil
}

// launch runs one postgres process on opts.Port (or a free port) and waits
// until it accepts connections; on failure nothing is left running.
func (s *Server) launch(ctx context.Context, binDir string, acct account, opts Options) error {
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return err
		}
	}
	proc, err := launch(binDir, s.dir, port, acct, opts)
	if err != nil {
		return err
	}
	s.port, s.proc = port, proc
	if err := waitReady(ctx, proc, s.DSN(defaultDatabase)); err != nil {
		s.halt()
		return err
	}
	return nil
}

// DSN returns a connection string for database db as the trusted superuser.
func (s *Server) DSN(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// CreateDatabase creates database name unless it already exists, so callers
// may ask for it on every start.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	return createDatabase(ctx, s.DSN(defaultDatabase), name)
}

// Port returns the loopback port the server listens on.
func (s *Server) Port() int { return s.port }

// Dir returns the absolute data directory.
func (s *Server) Dir() string { return s.dir }

// PID returns the postmaster's process id, for callers that must prove it is gone.
func (s *Server) PID() int { return s.proc.Pid() }

// Done is closed when the server process has exited, whether through Stop or
// a crash, so a supervising dev mode can notice a dead database.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// Stop shuts the server down (fast shutdown: open sessions are disconnected)
// and waits for it to exit. It is idempotent: later calls return the first
// result. A temporary data directory is removed.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		crashed := s.proc.Exited()
		s.halt()
		if crashed {
			s.stopErr = s.proc.exitError()
		}
		s.removeOwnedDir()
	})
	return s.stopErr
}

// halt sends SIGINT (fast shutdown) and waits, escalating to SIGKILL after
// stopTimeout.
func (s *Server) halt() {
	s.proc.Stop(syscall.SIGINT, stopTimeout)
}

// removeOwnedDir deletes the data directory when Start created it.
func (s *Server) removeOwnedDir() {
	if s.ownsDir {
		_ = os.RemoveAll(s.dir)
	}
}
