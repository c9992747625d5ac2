package result

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// FingerprintSchema versions the recipe of Fingerprint.Key: a change to what goes into the
// key bumps it, so keys of the two recipes never match by accident.
const FingerprintSchema = "inferbench.fingerprint/1"

// Fingerprint records what determines the numbers of one point, so that a later sweep can
// tell whether it would measure the same thing and reuse the result instead
// (docs/plan.md). Key covers Launch, Client, RunnerType and Agent; ImageDigest is recorded
// beside it because it is learnt only when the image is pulled, after any plan is made.
type Fingerprint struct {
	Key string `json:"key"`
	// Launch identifies the launch with the machine-specific parts fixed (the agent's path,
	// the output directory, a port picked at run time): the rendered launch (image reference,
	// engine command line, recipe environment, config files, setup steps, GPUs, nodes) with
	// the engine's complete environment, the backend and the GPU SKU.
	Launch      string `json:"launch"`
	Image       string `json:"image,omitempty"`
	ImageDigest string `json:"image_digest,omitempty"`
	// Client is the load generator's settings (lengths, prompts, warm-ups, concurrency,
	// request rate, prompt form, endpoint), as canonical JSON.
	Client json.RawMessage `json:"client"`
	// RunnerType is the hardware label the results carry (RUNNER_TYPE).
	RunnerType string `json:"runner_type"`
	// Agent identifies the agent's code: a digest of its source when the build stamped one,
	// else its version.
	Agent string `json:"agent"`
}

// NewFingerprint fills in Key from the parts.
func NewFingerprint(launch, image string, client json.RawMessage, runnerType, agent string) Fingerprint {
	f := Fingerprint{Launch: launch, Image: image, Client: canonical(client), RunnerType: runnerType, Agent: agent}
	f.Key = f.ComputeKey()
	return f
}

// canonical is JSON with object keys sorted and no spaces, so a record that a tool read and
// wrote again (reordering or indenting its keys) keeps its key.
func canonical(raw json.RawMessage) json.RawMessage {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

// ComputeKey is the key the parts give; a record whose Key differs from it was edited or
// written by another recipe of the key, and is not trusted for reuse.
func (f Fingerprint) ComputeKey() string {
	b, _ := json.Marshal(struct {
		Schema     string          `json:"schema"`
		Launch     string          `json:"launch"`
		Client     json.RawMessage `json:"client"`
		RunnerType string          `json:"runner_type"`
		Agent      string          `json:"agent"`
	}{FingerprintSchema, f.Launch, canonical(f.Client), f.RunnerType, f.Agent})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:10])
}

// Provenance says where a reused result was measured: it is added to the copy of the
// point's manifest that a sweep collects instead of running the point again.
type Provenance struct {
	// Source names the earlier sweep (a workflow run's address or an id given by the user).
	Source string `json:"source"`
	// Path is the manifest's path inside that sweep's downloaded artifacts.
	Path string `json:"path"`
	// Key is the fingerprint the result and the new sweep share.
	Key string `json:"key"`
	// Via lists the sweeps that reused it in between, oldest first, when it was reused more
	// than once; Source stays the sweep that measured it.
	Via []string `json:"via,omitempty"`
}
