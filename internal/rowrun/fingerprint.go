package rowrun

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/inferbench/inferbench/internal/result"
)

// The stand-ins for the machine-specific inputs of a launch when it is fingerprinted for
// result reuse: where the agent binary and the output directory are, and which run it is,
// say nothing about what a point measures, yet a local launch's command line contains them.
const (
	fingerprintAgent = "/inferbench/agent"
	fingerprintOut   = "/inferbench/out"
	fingerprintRunID = "fingerprint"
)

// FingerprintPlan is the plan of o.Row with the machine-specific inputs fixed: the agent's
// path, the output directory, the run id and, where the runner family leaves the port to
// the agent, the port (the plan's stand-in). Its launch fingerprints are the same on every
// machine and in every run of the same configuration, which the result fingerprints of
// `agent run` and the reuse check of `agent plan` both rely on.
func FingerprintPlan(o Options) (*Plan, error) {
	c := o
	c.AgentPath, c.OutDir, c.RunID, c.Environ, c.Port = fingerprintAgent, fingerprintOut, fingerprintRunID, nil, 0
	return PlanRow(c)
}

// AgentIdentity is what result fingerprints record as the agent: the source digest the build
// stamped (AgentBuild) when there is one, else the version.
func (o Options) AgentIdentity() string {
	if o.AgentBuild != "" {
		return o.AgentBuild
	}
	return o.AgentVersion
}

// PointFingerprint is the result fingerprint of point pt of launch l of a plan made by
// FingerprintPlan, for the agent identified by agent.
func PointFingerprint(p *Plan, l *Launch, pt PlannedPoint, agent string) result.Fingerprint {
	client, _ := json.Marshal(pt.Client) // plain data: cannot fail
	return result.NewFingerprint(LaunchIdentity(p, l), l.Rendered.Image, client, p.Runner.Type, agent)
}

// LaunchIdentity is the launch as far as it can change a measurement: the rendered launch
// (its fingerprint, which decides server reuse within a run) plus what the runner family
// adds around it, the engine's complete environment (the family's settings, such as
// NCCL_GRAPH_REGISTER=0 on one family only, and the workflow's variables), the backend and
// the GPU SKU. Within one run these are constant, so the rendered fingerprint suffices there;
// across runs and nodes they are not.
func LaunchIdentity(p *Plan, l *Launch) string {
	b, _ := json.Marshal(struct {
		Rendered string
		Env      map[string]string
		Backend  string
		GPU      string
	}{l.Fingerprint, l.Engine.Env, p.Runner.Backend, p.Runner.GPU})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// pointFingerprints lists the result fingerprint of every point of the row in execution
// order, the order in which Plan.Launches lists them.
func pointFingerprints(p *Plan, agent string) []result.Fingerprint {
	var out []result.Fingerprint
	for i := range p.Launches {
		for _, pt := range p.Launches[i].Points {
			out = append(out, PointFingerprint(p, &p.Launches[i], pt, agent))
		}
	}
	return out
}
