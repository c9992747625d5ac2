//go:build !linux

package execx

import "syscall"

// Only Linux can tie a child's life to its parent's; elsewhere the supervisor's own stop
// path is all there is.
func setParentDeathSignal(*syscall.SysProcAttr) {}
