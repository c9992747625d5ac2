package result

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func powerAgg(p *AggPower) Agg {
	return Agg{HW: "h200", Conc: 4, TP: 8, DPAttention: "false", TputPerGPU: 100,
		Stats: []Value{{"median_ttft", 0.1}}, Ext: &AggExt{SchemaVersion: AggSchema}, Power: p}
}

func TestAggPowerFieldsComeLastInTheReferenceOrder(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(powerAgg(&AggPower{SchemaVersion: PowerMetricSchema, Valid: true, AvgPowerW: 500.00049,
		AvgTotalGPUPowerW: 4000.0004, TotalGPUEnergyJ: 40000.00049, JoulesPerSuccessfulQuery: 4000,
		JoulesPerInputToken: 4.00000049, JoulesPerOutputToken: 20, JoulesPerTotalToken: 40000.0 / 12000}))
	require.NoError(t, err)
	s := string(b)
	want := `"client_behind":false,` +
		`"power_metric_schema_version":2,"power_valid":1,"avg_power_w":500.0,"avg_total_gpu_power_w":4000.0,"total_gpu_energy_j":40000.0,` +
		`"joules_per_successful_query":4000.0,"joules_per_input_token":4.0,"joules_per_output_token":20.0,"joules_per_total_token":3.333333}`
	assert.True(t, strings.HasSuffix(s, want), "got %s", s)

	var back Agg
	require.NoError(t, json.Unmarshal(b, &back))
	require.NotNil(t, back.Power)
	assert.True(t, back.Power.Valid)
	assert.Equal(t, 20.0, back.Power.JoulesPerOutputToken)
	assert.Nil(t, back.Power.Roles)
	_, isStat := back.Get("avg_power_w")
	assert.False(t, isStat, "power fields are not latency statistics")
}

func TestAggPowerInvalidWritesOnlyTheVerdict(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(powerAgg(&AggPower{SchemaVersion: PowerMetricSchema, TotalGPUEnergyJ: 123}))
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(b), `"client_behind":false,"power_metric_schema_version":2,"power_valid":0}`), string(b))

	b, err = json.Marshal(powerAgg(nil))
	require.NoError(t, err)
	assert.NotContains(t, string(b), "power")
}

func TestAggPowerRoles(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	b, err := json.Marshal(powerAgg(&AggPower{SchemaVersion: 2, Valid: true, Roles: &AggPowerRoles{
		PrefillGPUEnergyJ: f(1), PrefillAvgPowerW: f(2), PrefillJoulesPerInputToken: f(0.1234567),
		DecodeGPUEnergyJ: f(4), DecodeAvgPowerW: f(5), DecodeJoulesPerOutputToken: f(6)}}))
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(b), `"joules_per_total_token":0.0,"prefill_gpu_energy_j":1.0,"prefill_avg_power_w":2.0,"prefill_joules_per_input_token":0.123457,`+
		`"decode_gpu_energy_j":4.0,"decode_avg_power_w":5.0,"decode_joules_per_output_token":6.0}`), string(b))
	var back Agg
	require.NoError(t, json.Unmarshal(b, &back))
	require.NotNil(t, back.Power.Roles)
	assert.Equal(t, 0.123457, *back.Power.Roles.PrefillJoulesPerInputToken)
}

func TestAggPowerRefusesNonFinite(t *testing.T) {
	t.Parallel()
	_, err := json.Marshal(powerAgg(&AggPower{SchemaVersion: 2, Valid: true, JoulesPerOutputToken: math.Inf(1)}))
	assert.ErrorContains(t, err, "joules_per_output_token")
}

func TestAggReadsReferencePowerRecord(t *testing.T) {
	t.Parallel()
	// The reference patches its record in place: its keys, then the power keys.
	ref := `{"hw":"mi355x","conc":64,"tp":8,"ep":1,"dp_attention":"false","tput_per_gpu":1.0,"output_tput_per_gpu":1.0,"input_tput_per_gpu":0.0,
	  "median_ttft":0.2,"power_metric_schema_version":2,"power_valid":0}`
	var a Agg
	require.NoError(t, json.Unmarshal([]byte(ref), &a))
	require.NotNil(t, a.Power)
	assert.False(t, a.Power.Valid)
	assert.Equal(t, 2, a.Power.SchemaVersion)
	assert.Len(t, a.Stats, 1)

	var bad Agg
	assert.Error(t, json.Unmarshal([]byte(`{"hw":"x","avg_power_w":"high"}`), &bad))
}
