package main

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel SIGKILL cmd when this process dies, so an
// interrupted run leaves no child (or redis-server) behind.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
