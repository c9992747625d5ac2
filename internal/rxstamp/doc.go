// Package rxstamp reads TCP connections with kernel receive timestamps (SO_TIMESTAMPNS
// and recvmsg on Linux), so the arrival time of data is when its bytes reached this host,
// not when a busy reader got around to them. The load generator uses it for chunk arrival
// times and the simulator for request arrival times; the difference to the read time is
// the reader's lag, which both report.
package rxstamp
