// Package localpg runs a throw-away or persistent PostgreSQL server from the
// system's binaries, as a child process of the calling program.
//
// It exists for two callers: tests, which need a real PostgreSQL rather than a
// mock of it, and the local development mode, which gives a developer a tenant
// database on one machine with nothing else installed. The server listens on
// 127.0.0.1 only and trusts every connection from there, so it must never be
// used to hold data that matters.
//
// The server runs in the foreground (not daemonised by pg_ctl) with a parent
// death signal, so a killed parent leaves no postgres process behind. When the
// caller is root, PostgreSQL's own refusal to run as root is honoured by
// running it as the unprivileged "postgres" user (or "nobody").
//
// Linux is the supported platform; other Unix systems work without the parent
// death signal.
package localpg
