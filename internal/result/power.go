package result

import (
	"encoding/json"
	"fmt"
	"math"
)

// PowerMetricSchema is the reference's power_metric_schema_version: 2 means the unprefixed
// joules_per_* fields are whole-deployment energy (every GPU of every role).
const PowerMetricSchema = 2

// AggPower are the power fields of an agg record, with the reference's names, units and
// meaning. Valid false writes only the version and power_valid: 0, as the reference does
// for a point whose telemetry did not pass validation.
type AggPower struct {
	SchemaVersion int
	Valid         bool
	// Whole deployment over the benchmark window: mean board power per GPU (W), their sum
	// (W), energy (J), and that energy per successful request and per token.
	AvgPowerW, AvgTotalGPUPowerW, TotalGPUEnergyJ                  float64
	JoulesPerSuccessfulQuery                                       float64
	JoulesPerInputToken, JoulesPerOutputToken, JoulesPerTotalToken float64
	// Roles is set for disaggregated rows: each side's GPUs over the whole window.
	Roles *AggPowerRoles
}

// AggPowerRoles are the per-role fields of a disaggregated row; a side with no GPUs is nil.
type AggPowerRoles struct {
	PrefillGPUEnergyJ, PrefillAvgPowerW, PrefillJoulesPerInputToken *float64
	DecodeGPUEnergyJ, DecodeAvgPowerW, DecodeJoulesPerOutputToken   *float64
}

// PowerKeys are the agg keys of AggPower: the version and the verdict, then the metrics.
var PowerKeys = []string{"power_metric_schema_version", "power_valid", "avg_power_w", "avg_total_gpu_power_w",
	"total_gpu_energy_j", "joules_per_successful_query", "joules_per_input_token", "joules_per_output_token",
	"joules_per_total_token", "prefill_gpu_energy_j", "decode_gpu_energy_j", "prefill_avg_power_w",
	"decode_avg_power_w", "prefill_joules_per_input_token", "decode_joules_per_output_token"}

// roundPower rounds as the reference does: watts and joules to 3 decimals, ratios to 6.
func roundPower(key string, v float64) float64 {
	digits := 6.0
	if n := len(key); n > 2 && (key[n-2:] == "_w" || key[n-2:] == "_j") {
		digits = 3
	}
	p := math.Pow(10, digits)
	return math.Round(v*p) / p
}

// fields lists the record's keys and values in the reference's order.
func (p *AggPower) fields() ([]powerField, error) {
	out := []powerField{{"power_metric_schema_version", p.SchemaVersion}, {"power_valid", boolInt(p.Valid)}}
	if !p.Valid {
		return out, nil
	}
	add := func(k string, v float64) error {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("power metric %s is not finite", k)
		}
		out = append(out, powerField{k, roundPower(k, v)})
		return nil
	}
	for _, kv := range []struct {
		k string
		v float64
	}{{"avg_power_w", p.AvgPowerW}, {"avg_total_gpu_power_w", p.AvgTotalGPUPowerW}, {"total_gpu_energy_j", p.TotalGPUEnergyJ},
		{"joules_per_successful_query", p.JoulesPerSuccessfulQuery}, {"joules_per_input_token", p.JoulesPerInputToken},
		{"joules_per_output_token", p.JoulesPerOutputToken}, {"joules_per_total_token", p.JoulesPerTotalToken}} {
		if err := add(kv.k, kv.v); err != nil {
			return nil, err
		}
	}
	if r := p.Roles; r != nil {
		for _, kv := range []struct {
			k string
			v *float64
		}{{"prefill_gpu_energy_j", r.PrefillGPUEnergyJ}, {"prefill_avg_power_w", r.PrefillAvgPowerW},
			{"prefill_joules_per_input_token", r.PrefillJoulesPerInputToken}, {"decode_gpu_energy_j", r.DecodeGPUEnergyJ},
			{"decode_avg_power_w", r.DecodeAvgPowerW}, {"decode_joules_per_output_token", r.DecodeJoulesPerOutputToken}} {
			if kv.v == nil {
				continue
			}
			if err := add(kv.k, *kv.v); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

type powerField struct {
	k string
	v any
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// decodePower reads the power keys found in an agg record; nil when there were none.
func decodePower(vals map[string]json.RawMessage) (*AggPower, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	p := &AggPower{}
	num := func(k string) (*float64, error) {
		raw, ok := vals[k]
		if !ok {
			return nil, nil
		}
		var v *float64
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("agg key %q: not a number: %w", k, err)
		}
		return v, nil
	}
	var errs []error
	get := func(k string, dst *float64) *float64 {
		v, err := num(k)
		if err != nil {
			errs = append(errs, err)
		}
		if v != nil && dst != nil {
			*dst = *v
		}
		return v
	}
	if v := get("power_metric_schema_version", nil); v != nil {
		p.SchemaVersion = int(*v)
	}
	if v := get("power_valid", nil); v != nil {
		p.Valid = *v != 0
	}
	get("avg_power_w", &p.AvgPowerW)
	get("avg_total_gpu_power_w", &p.AvgTotalGPUPowerW)
	get("total_gpu_energy_j", &p.TotalGPUEnergyJ)
	get("joules_per_successful_query", &p.JoulesPerSuccessfulQuery)
	get("joules_per_input_token", &p.JoulesPerInputToken)
	get("joules_per_output_token", &p.JoulesPerOutputToken)
	get("joules_per_total_token", &p.JoulesPerTotalToken)
	r := &AggPowerRoles{
		PrefillGPUEnergyJ: get("prefill_gpu_energy_j", nil), PrefillAvgPowerW: get("prefill_avg_power_w", nil),
		PrefillJoulesPerInputToken: get("prefill_joules_per_input_token", nil), DecodeGPUEnergyJ: get("decode_gpu_energy_j", nil),
		DecodeAvgPowerW: get("decode_avg_power_w", nil), DecodeJoulesPerOutputToken: get("decode_joules_per_output_token", nil),
	}
	if *r != (AggPowerRoles{}) {
		p.Roles = r
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return p, nil
}
