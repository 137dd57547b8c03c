package localpg

import (
	"fmt"
	"net"
)

// freePort asks the kernel for an unused loopback port. Another process may
// take it before postgres binds it; Start retries with a new port when the
// server then fails to come up.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
