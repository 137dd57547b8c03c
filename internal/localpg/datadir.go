package localpg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/scim-operator/scim-operator/internal/childproc"
)

// isInitialised reports whether dir already holds a PostgreSQL cluster, which
// Start then reuses instead of running initdb.
func isInitialised(dir string) (bool, error) {
	_, err := os.Stat(filepath.Join(dir, "PG_VERSION"))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("inspecting data directory %s: %w", dir, err)
	}
}

// prepareDataDir makes dir an initialised cluster owned by the account,
// running initdb when it is missing or empty. A non-empty directory without a
// cluster is refused rather than overwritten.
func prepareDataDir(ctx context.Context, dir, binDir string, acct account, opts Options) error {
	initialised, err := isInitialised(dir)
	if err != nil {
		return err
	}
	if !initialised {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("reading data directory %s: %w", dir, err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("data directory %s is not empty and holds no PostgreSQL cluster; refusing to initialise it", dir)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating data directory: %w", err)
		}
	}
	if err := acct.adopt(dir); err != nil {
		return err
	}
	if initialised {
		return nil
	}
	return initdb(ctx, dir, binDir, acct, opts)
}

// initdb creates a cluster in dir whose superuser is trusted on loopback: the
// server is for tests and local development only.
func initdb(ctx context.Context, dir, binDir string, acct account, opts Options) error {
	args := []string{
		"--pgdata=" + dir,
		"--username=" + Superuser,
		"--auth=trust",
		"--encoding=UTF8",
		"--locale=C",
	}
	if !opts.Fsync {
		args = append(args, "--no-sync")
	}
	tail := &logTail{}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(opts.Log, tail)
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = sysProcAttr(acct)
	proc, err := childproc.Start(cmd, syscall.SIGINT)
	if err == nil {
		err = proc.Err()
	}
	if err != nil {
		return errors.New(tail.annotate(fmt.Sprintf("initdb in %s failed: %v", dir, err)))
	}
	return nil
}
