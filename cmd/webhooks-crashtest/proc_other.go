//go:build !linux

package main

import "os/exec"

// setPdeathsig is Linux-only; elsewhere the parent kills its children on
// every exit path it controls.
func setPdeathsig(*exec.Cmd) {}
