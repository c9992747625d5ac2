package slurm

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inferbench/inferbench/internal/execx"
	"github.com/inferbench/inferbench/internal/procfs"
)

// Two agents given the same --run-id: one's cleanup must not cancel the other's job, nor a
// job of a run whose id merely contains this one.
func TestHostile12ReusedRunIDCleanupSparesTheOtherAgent(t *testing.T) {
	t.Parallel()
	me, other := "vm:100:5:boot", "vm:200:6:boot"
	c := &cluster{Fake: &execx.Fake{}}
	c.On([]string{"squeue", "-h", "-o", "%A|%j|%k"}, strings.Join([]string{
		"7|inferbench-run1-1|" + commentPrefix + me,
		"8|inferbench-run1-1|" + commentPrefix + other,
		"9|inferbench-run10-1|" + commentPrefix + me,
		"10|someone-elses-job|",
	}, "\n"), 0)
	c.On([]string{"scancel"}, "", 0)
	b := New(Config{Exec: c, Starter: c, Owner: me})

	require.NoError(t, b.Cleanup(context.Background(), "run1"))

	assert.Equal(t, []string{"squeue -h -o '%A|%j|%k'", "scancel 7"}, c.CallLines())
}

func TestHostile09ReapOnlyJobsOfGoneAgents(t *testing.T) {
	t.Parallel()
	self := procfs.Host.Self()
	parent, err := procfs.Host.Read(os.Getppid())
	require.NoError(t, err)
	live := procfs.Owner{Host: self.Host, PID: parent.PID, Start: parent.StartTicks, Boot: self.Boot}
	exited := procfs.Owner{Host: self.Host, PID: 99_999_999, Start: 1, Boot: self.Boot}
	elsewhere := procfs.Owner{Host: "other-host", PID: 99_999_999, Start: 1, Boot: "x"}
	c := &cluster{Fake: &execx.Fake{}}
	c.On([]string{"squeue", "-h", "-o", "%A|%j|%k", "--me"}, strings.Join([]string{
		"1|inferbench-a-1|" + commentPrefix + self.String(),
		"2|inferbench-b-1|" + commentPrefix + live.String(),
		"3|inferbench-c-1|" + commentPrefix + exited.String(),
		"4|inferbench-d-1|" + commentPrefix + elsewhere.String(),
		"5|inferbench-e-1|",
		"6|training-run|a comment",
	}, "\n"), 0)
	c.On([]string{"scancel"}, "", 0)
	b := New(Config{Exec: c, Starter: c})

	lines, err := b.Reap(context.Background(), self.String())

	require.NoError(t, err)
	assert.True(t, slices.Contains(c.CallLines(), "scancel 3"))
	assert.Len(t, c.CallLines(), 2, "only job 3 is cancelled: %v", c.CallLines())
	assert.Equal(t, []string{"cancelled leftover Slurm job 3 (inferbench-c-1): its agent (pid 99999999) has exited"}, lines)
}

// The launch records its agent in the job comment, where a later run's Reap finds it.
func TestHostile09JobCommentRecordsTheAgent(t *testing.T) {
	t.Parallel()
	s := spec(t.TempDir())
	s.Owner = "vm:100:5:boot"
	args := New(Config{}).SallocArgs(s)
	assert.Contains(t, args, "--comment=inferbench-agent=vm:100:5:boot")
}
