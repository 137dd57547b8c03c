package localpg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// errExitedEarly marks a server that ended before accepting connections, the
// symptom of a port taken between freePort and bind, which Start retries.
var errExitedEarly = errors.New("postgres exited before accepting connections")

// waitReady polls until the server accepts a connection, it exits, or ctx ends.
func waitReady(ctx context.Context, p *process, dsn string) error {
	delay := 20 * time.Millisecond
	var lastErr error
	for {
		if p.Exited() {
			return fmt.Errorf("%w: %w", errExitedEarly, p.exitError())
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, dsn)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return errors.New(p.tail.annotate(fmt.Sprintf("postgres did not accept connections in time: %v", lastErr)))
		case <-p.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

// createDatabase creates name unless it exists, connecting to the maintenance
// database. The name is quoted, never interpolated.
func createDatabase(ctx context.Context, maintenanceDSN, name string) error {
	conn, err := pgx.Connect(ctx, maintenanceDSN)
	if err != nil {
		return fmt.Errorf("connecting to create database %q: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	return nil
}
