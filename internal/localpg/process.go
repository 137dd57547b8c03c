package localpg

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/scim-operator/scim-operator/internal/childproc"
)

// process is one running postgres child.
type process struct {
	*childproc.Process
	tail *logTail
}

// serverArgs returns the postgres command line: loopback TCP only, no Unix
// socket (its path length limit and directory permissions only get in the way
// here), and no durability unless asked for.
func serverArgs(dir string, port int, fsync, tls bool) []string {
	args := []string{
		"-D", dir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "logging_collector=off",
	}
	if tls {
		args = append(args, "-c", "ssl=on")
	}
	if !fsync {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}
	return args
}

// launch starts postgres in the foreground. When this process dies the
// postmaster gets SIGINT, PostgreSQL's fast shutdown: unlike SIGTERM's smart
// shutdown it does not wait for other clients (a developer's psql) to leave,
// and unlike SIGKILL it ends its backends and removes its shared memory.
func launch(binDir, dir string, port int, acct account, opts Options) (*process, error) {
	p := &process{tail: &logTail{}}
	cmd := exec.Command(filepath.Join(binDir, "postgres"), serverArgs(dir, port, opts.Fsync, opts.tls())...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(opts.Log, p.tail)
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = sysProcAttr(acct)
	var err error
	if p.Process, err = childproc.Start(cmd, syscall.SIGINT); err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	return p, nil
}

// exitError describes an exit the caller did not ask for, quoting the output.
func (p *process) exitError() error {
	reason := "exited"
	if err := p.Err(); err != nil {
		reason = err.Error()
	}
	return errors.New(p.tail.annotate("postgres stopped unexpectedly: " + reason))
}
