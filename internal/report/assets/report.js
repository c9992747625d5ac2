// Draws the report's charts and table as SVG/HTML from the embedded data. No libraries,
// no network. The initial filter comes from the URL hash (#model=dsr1&seq=1k8k&hw=b200),
// and every change is written back to it, so a view can be linked (and tested).
(function () {
  "use strict";
  var t0 = performance.now();
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var C = {}; D.cols.forEach(function (c, i) { C[c] = i; });
  // Mid-tone hues: each keeps 3:1 contrast against the chart panel in light and in dark
  // mode (WCAG 1.4.11 for graphics; contrast_test.go checks it).
  var PALETTE = ["#3b82f6", "#ce5705", "#0c8d62", "#ef4444", "#a855f7", "#9b7605", "#04889e",
    "#ec4899", "#59890f", "#687d9b", "#6366f1", "#ac6e07", "#0f8b7d", "#e11d48", "#8b5cf6"];
  var SVGNS = "http://www.w3.org/2000/svg";
  var W = 560, H = 340, M = { l: 64, r: 14, t: 12, b: 44 };

  function dim(name, row) { return D.dims[name][row[C[name]]]; }
  // Labels used in sorting and grouping are computed once per row, not per comparison.
  D.rows.forEach(function (r, i) {
    r.i = i;
    r.series = dim("hw", r) + " · " + dim("fw", r);
    r.sortKey = r.series + "\u0000" + dim("prec", r) + "\u0000" + dim("par", r);
  });
  function seriesOf(r) { return r.series; }

  // Colours are assigned over all series, so filtering never repaints a series.
  var allSeries = uniq(D.rows.map(seriesOf)).sort();
  var color = {};
  allSeries.forEach(function (s, i) { color[s] = PALETTE[i % PALETTE.length]; });

  function uniq(a) { var s = {}, o = []; a.forEach(function (x) { if (!s[x]) { s[x] = 1; o.push(x); } }); return o; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }
  function fmt(v, d) {
    if (v === null || v === undefined) return "n/a";
    var a = Math.abs(v);
    if (d !== undefined) return v.toFixed(d);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 10 ? v.toFixed(2) : v.toFixed(3);
  }

  // ---- filter state -------------------------------------------------------------------
  var state = { model: null, seq: null, prec: null, fw: null, hw: null };

  function parseHash() {
    var h = (location.hash || "").replace(/^#/, ""), out = {};
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var i = kv.indexOf("="), k = decodeURIComponent(i < 0 ? kv : kv.slice(0, i));
      out[k] = i < 0 ? "" : decodeURIComponent(kv.slice(i + 1));
    });
    return out;
  }

  function writeHash() {
    var parts = [];
    ["model", "seq", "prec", "fw", "hw"].forEach(function (k) {
      var v = state[k];
      if (v === null) return;
      if (Array.isArray(v)) { if (v.length === options(k).length) return; v = v.join(","); }
      parts.push(k + "=" + encodeURIComponent(v));
    });
    var h = parts.length ? "#" + parts.join("&") : "";
    if (history.replaceState) history.replaceState(null, "", location.pathname + location.search + h);
  }

  function options(k) {
    var rows = D.rows;
    if (k !== "model") rows = rows.filter(function (r) { return dim("model", r) === state.model; });
    if (k !== "model" && k !== "seq") rows = rows.filter(function (r) { return dim("seq", r) === state.seq; });
    return uniq(rows.map(function (r) { return dim(k, r); })).sort();
  }

  // hw=b200 selects b200 and b200-trt (the GPU SKU), as --hw does on the command line.
  function hwMatches(want, hw) { return want === hw || hw.split("-")[0] === want; }

  function initState() {
    var h = parseHash();
    var models = options("model");
    state.model = models.indexOf(h.model) >= 0 ? h.model : models[0] || "";
    var seqs = options("seq");
    state.seq = seqs.indexOf(h.seq) >= 0 ? h.seq : seqs[0] || "";
    ["prec", "fw", "hw"].forEach(function (k) {
      var all = options(k);
      if (h[k] === undefined || h[k] === "") { state[k] = all; return; }
      var want = h[k].split(",");
      state[k] = all.filter(function (v) {
        return want.some(function (w) { return k === "hw" ? hwMatches(w, v) : w === v; });
      });
    });
  }

  function selected() {
    return D.rows.filter(function (r) {
      return dim("model", r) === state.model && dim("seq", r) === state.seq &&
        state.prec.indexOf(dim("prec", r)) >= 0 && state.fw.indexOf(dim("fw", r)) >= 0 &&
        state.hw.indexOf(dim("hw", r)) >= 0;
    });
  }

  function buildSelect(id, k) {
    var el = document.getElementById(id), opts = options(k);
    el.innerHTML = opts.map(function (o) {
      return '<option' + (o === state[k] ? " selected" : "") + ">" + esc(o) + "</option>";
    }).join("");
    el.onchange = function () {
      state[k] = el.value;
      if (k === "model") state.seq = options("seq")[0];
      ["prec", "fw", "hw"].forEach(function (x) { state[x] = options(x); });
      buildControls(); render();
    };
  }

  function buildChecks(id, k) {
    var fs = document.getElementById(id), leg = fs.querySelector("legend");
    fs.innerHTML = ""; fs.appendChild(leg);
    options(k).forEach(function (o) {
      var lab = document.createElement("label"), cb = document.createElement("input");
      cb.type = "checkbox"; cb.name = k; cb.value = o; cb.checked = state[k].indexOf(o) >= 0;
      cb.onchange = function () {
        state[k] = Array.prototype.filter.call(fs.querySelectorAll("input:checked"), function (x) { return true; })
          .map(function (x) { return x.value; });
        render();
      };
      lab.appendChild(cb); lab.appendChild(document.createTextNode(" " + o)); fs.appendChild(lab);
    });
  }

  function buildControls() {
    buildSelect("f-model", "model"); buildSelect("f-seq", "seq");
    buildChecks("f-prec", "prec"); buildChecks("f-fw", "fw"); buildChecks("f-hw", "hw");
  }

  // ---- scales and axes -----------------------------------------------------------------
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    var step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n))), err = (hi - lo) / n / step;
    if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
    var t = [], v = Math.ceil(lo / step) * step;
    for (; v <= hi + step * 1e-9; v += step) t.push(+v.toPrecision(12));
    return t;
  }

  function linear(lo, hi, a, b) {
    if (!(hi > lo)) { hi = lo + 1; }
    var f = function (v) { return a + (v - lo) / (hi - lo) * (b - a); };
    f.ticks = function (n) { return niceTicks(lo, hi, n); };
    return f;
  }

  // Concurrencies are powers of two in practice: a log2 axis spaces them evenly.
  function log2(lo, hi, a, b) {
    var l = Math.log2(Math.max(lo, 1)), h = Math.log2(Math.max(hi, lo * 2, 2));
    var f = function (v) { return a + (Math.log2(Math.max(v, 1)) - l) / (h - l) * (b - a); };
    f.ticks = function () {
      var t = []; for (var e = Math.floor(l); e <= Math.ceil(h); e++) t.push(Math.pow(2, e)); return t;
    };
    return f;
  }

  function extent(vals, zero) {
    var lo = Infinity, hi = -Infinity;
    vals.forEach(function (v) { if (v === null || !isFinite(v)) return; if (v < lo) lo = v; if (v > hi) hi = v; });
    if (lo === Infinity) return [0, 1];
    if (zero) lo = Math.min(0, lo);
    var pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.1 || 1;
    return [zero ? lo : lo - pad, hi + pad];
  }

  function frame(xs, ys, xlabel, ylabel) {
    var s = [];
    ys.ticks(6).forEach(function (t) {
      var y = ys(t); if (y < M.t - 1 || y > H - M.b + 1) return;
      s.push('<line class="grid" x1="' + M.l + '" x2="' + (W - M.r) + '" y1="' + y + '" y2="' + y + '"/>');
      s.push('<text x="' + (M.l - 6) + '" y="' + (y + 4) + '" text-anchor="end">' + tickLabel(t) + "</text>");
    });
    xs.ticks(8).forEach(function (t) {
      var x = xs(t); if (x < M.l - 1 || x > W - M.r + 1) return;
      s.push('<line class="grid" y1="' + M.t + '" y2="' + (H - M.b) + '" x1="' + x + '" x2="' + x + '"/>');
      s.push('<text x="' + x + '" y="' + (H - M.b + 15) + '" text-anchor="middle">' + tickLabel(t) + "</text>");
    });
    s.push('<line class="axis" x1="' + M.l + '" x2="' + (W - M.r) + '" y1="' + (H - M.b) + '" y2="' + (H - M.b) + '"/>');
    s.push('<line class="axis" x1="' + M.l + '" x2="' + M.l + '" y1="' + M.t + '" y2="' + (H - M.b) + '"/>');
    s.push('<text class="title" x="' + ((M.l + W - M.r) / 2) + '" y="' + (H - 8) + '" text-anchor="middle">' + esc(xlabel) + "</text>");
    s.push('<text class="title" transform="translate(14,' + ((M.t + H - M.b) / 2) + ') rotate(-90)" text-anchor="middle">' + esc(ylabel) + "</text>");
    return s.join("");
  }

  function tickLabel(v) {
    var a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return +(v / 1e3).toPrecision(3) + "k";
    return String(+v.toPrecision(4));
  }

  function mount(id, inner, n) {
    var host = document.querySelector("#" + id + " .plot-host");
    host.innerHTML = '<svg class="plot" xmlns="' + SVGNS + '" viewBox="0 0 ' + W + " " + H +
      '" role="img" data-points="' + n + '">' + inner + "</svg>";
  }

  function emptyChart(id, why) {
    mount(id, '<text class="empty" x="' + W / 2 + '" y="' + H / 2 + '" text-anchor="middle">' + esc(why) + "</text>", 0);
  }

  function pointTitle(r) {
    return seriesOf(r) + " " + dim("prec", r) + " " + dim("par", r) + " conc " + r[C.conc] +
      "\nTPUT/GPU " + fmt(r[C.tput]) + " tok/s · interactivity " + fmt(r[C.intvty]) + " tok/s/user" +
      "\nTTFT " + fmt(r[C.ttft]) + " ms · TPOT " + fmt(r[C.tpot]) + " ms · E2EL " + fmt(r[C.e2el]) + " s" +
      (r[C.jout] !== null ? "\nPower " + fmt(r[C.pw]) + " W/GPU · " + fmt(r[C.jout]) + " J/output token" : "");
  }

  // Points carry their row index; one shared tooltip reads it, which keeps 20,000 points
  // from each needing a <title> of their own.
  function dot(x, y, r, c) {
    return '<circle class="pt" cx="' + x.toFixed(1) + '" cy="' + y.toFixed(1) + '" r="3.4" fill="' + c +
      '" data-i="' + r.i + '"/>';
  }

  var tip = document.createElement("div");
  tip.className = "tip"; tip.hidden = true; document.body.appendChild(tip);
  document.addEventListener("mouseover", function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute("data-i");
    if (i === null || i === undefined) { tip.hidden = true; return; }
    tip.textContent = pointTitle(D.rows[+i]);
    tip.style.left = (ev.pageX + 12) + "px"; tip.style.top = (ev.pageY + 12) + "px";
    tip.hidden = false;
  });

  function groupBy(rows, key) {
    var g = {}, order = [];
    rows.forEach(function (r) { var k = key(r); if (!g[k]) { g[k] = []; order.push(k); } g[k].push(r); });
    return order.sort().map(function (k) { return { key: k, rows: g[k] }; });
  }

  // ---- charts -------------------------------------------------------------------------
  // Pareto frontier (maximise both): walk points by falling interactivity, keep each point
  // whose throughput beats every point with higher interactivity.
  function frontier(rows) {
    var pts = rows.filter(function (r) { return r[C.intvty] !== null && r[C.tput] !== null; })
      .slice().sort(function (a, b) { return b[C.intvty] - a[C.intvty] || b[C.tput] - a[C.tput]; });
    var out = [], best = -Infinity;
    pts.forEach(function (r) { if (r[C.tput] > best) { out.push(r); best = r[C.tput]; } });
    return out;
  }

  function paretoChart(rows) {
    var id = "chart-pareto";
    var pts = rows.filter(function (r) { return r[C.intvty] !== null && r[C.tput] !== null; });
    if (!pts.length) return emptyChart(id, "no points for this selection");
    var xe = extent(pts.map(function (r) { return r[C.intvty]; }), true);
    var ye = extent(pts.map(function (r) { return r[C.tput]; }), true);
    var xs = linear(xe[0], xe[1], M.l, W - M.r), ys = linear(ye[0], ye[1], H - M.b, M.t);
    var s = [frame(xs, ys, "Interactivity (tok/s/user)", "Throughput per GPU (tok/s)")];
    groupBy(pts, seriesOf).forEach(function (g) {
      var c = color[g.key], f = frontier(g.rows);
      s.push('<polyline class="frontier" stroke="' + c + '" data-series="' + esc(g.key) + '" points="' +
        f.map(function (r) { return xs(r[C.intvty]).toFixed(1) + "," + ys(r[C.tput]).toFixed(1); }).join(" ") + '"/>');
      g.rows.forEach(function (r) { s.push(dot(xs(r[C.intvty]), ys(r[C.tput]), r, c)); });
    });
    mount(id, s.join(""), pts.length);
  }

  // shortPar names a layout briefly: tp8, tp8 ep8 dpa; multi-node layouts as written.
  function shortPar(r) {
    var p = dim("par", r), m = /^tp(\d+)-ep(\d+)-dpa(true|false)$/.exec(p);
    if (!m) return p.replace(/\(tp(\d+),ep\d+,dpa=\w+\)/g, "\u00d7tp$1");
    return "tp" + m[1] + (m[2] !== "1" ? " ep" + m[2] : "") + (m[3] === "true" ? " dpa" : "");
  }

  function configKey(r) { return seriesOf(r) + "|" + dim("prec", r) + "|" + dim("par", r) + "|" + dim("spec", r); }

  function concChart(id, rows, col, ylabel, zero) {
    var pts = rows.filter(function (r) { return r[col] !== null; });
    if (!pts.length) return emptyChart(id, "no points for this selection");
    var concs = pts.map(function (r) { return r[C.conc]; });
    var xs = log2(Math.min.apply(null, concs), Math.max.apply(null, concs), M.l + 10, W - M.r - 10);
    var ye = extent(pts.map(function (r) { return r[col]; }), zero);
    var ys = linear(ye[0], ye[1], H - M.b, M.t);
    var s = [frame(xs, ys, "Concurrency (requests in flight)", ylabel)];
    var groups = groupBy(pts, configKey);
    var multiPrec = uniq(pts.map(function (r) { return dim("prec", r); })).length > 1, placed = [];
    // Lines share their series' colour; label them only where a colour has several lines.
    var linesPerSeries = {};
    groups.forEach(function (g) { var k = seriesOf(g.rows[0]); linesPerSeries[k] = (linesPerSeries[k] || 0) + 1; });
    groups.forEach(function (g) {
      var c = color[seriesOf(g.rows[0])];
      var line = g.rows.slice().sort(function (a, b) { return a[C.conc] - b[C.conc]; });
      if (line.length > 1) {
        s.push('<polyline class="series-line" stroke="' + c + '" points="' +
          line.map(function (r) { return xs(r[C.conc]).toFixed(1) + "," + ys(r[col]).toFixed(1); }).join(" ") + '"/>');
      }
      line.forEach(function (r) { s.push(dot(xs(r[C.conc]), ys(r[col]), r, c)); });
      // With a handful of lines, name each at its end so same-coloured layouts can be told apart.
      var last = line[line.length - 1], lx = xs(last[C.conc]) - 6, ly = ys(last[col]) - 6;
      var clash = placed.some(function (p) { return Math.abs(p[0] - lx) < 60 && Math.abs(p[1] - ly) < 11; });
      if (groups.length <= 10 && linesPerSeries[seriesOf(last)] > 1 && !clash) {
        placed.push([lx, ly]);
        s.push('<text class="line-label" x="' + lx.toFixed(1) + '" y="' + ly.toFixed(1) +
          '" text-anchor="end" style="fill:' + c + '">' + esc(shortPar(last) + (multiPrec ? " " + dim("prec", last) : "")) + "</text>");
      }
    });
    mount(id, s.join(""), pts.length);
  }

  // Grouped bars: for each concurrency, the best value each hardware+framework reached (any
  // parallel layout) at the selected model and seq-len. Equal settings means one precision:
  // the one most of the selection has (ties: alphabetical), named on the chart.
  function bestBars(id, rows, val, ylabel, unit) {
    rows = rows.filter(function (r) { return val(r) !== null; });
    if (!rows.length) return emptyChart(id, "no points for this selection");
    var counts = {};
    rows.forEach(function (r) { var p = dim("prec", r); counts[p] = (counts[p] || 0) + 1; });
    var prec = Object.keys(counts).sort(function (a, b) { return counts[b] - counts[a] || (a < b ? -1 : 1); })[0];
    rows = rows.filter(function (r) { return dim("prec", r) === prec; });
    document.querySelector("#" + id + " .prec").textContent = prec;
    var skey = seriesOf;
    var concs = uniq(rows.map(function (r) { return r[C.conc]; })).sort(function (a, b) { return a - b; });
    var series = uniq(rows.map(skey)).sort();
    var best = {};
    rows.forEach(function (r) {
      var k = r[C.conc] + "|" + skey(r);
      if (!best[k] || val(r) > val(best[k])) best[k] = r;
    });
    var ye = extent(Object.keys(best).map(function (k) { return val(best[k]); }), true);
    var ys = linear(ye[0], ye[1], H - M.b, M.t);
    var bandW = (W - M.l - M.r) / concs.length, barW = Math.max(1, (bandW * 0.8) / series.length);
    var xs = function (i) { return M.l + bandW * (i + 0.5); };
    xs.ticks = function () { return []; };
    var s = [frame(xs, ys, "Concurrency (" + prec + ")", ylabel)], n = 0;
    concs.forEach(function (cc, i) {
      var x0 = M.l + bandW * i + bandW * 0.1;
      s.push('<text x="' + xs(i) + '" y="' + (H - M.b + 15) + '" text-anchor="middle">' + cc + "</text>");
      series.forEach(function (sk, j) {
        var r = best[cc + "|" + sk];
        if (!r) return;
        var y = ys(val(r));
        n++;
        s.push('<rect class="bar" x="' + (x0 + j * barW).toFixed(1) + '" y="' + y.toFixed(1) + '" width="' +
          Math.max(0.5, barW - 1).toFixed(1) + '" height="' + Math.max(0, H - M.b - y).toFixed(1) + '" fill="' +
          color[seriesOf(r)] + '"><title>' + esc(sk) + " conc " + cc + ": " + fmt(val(r)) + " " + unit + " (" + esc(dim("par", r)) + ")</title></rect>");
      });
    });
    mount(id, s.join(""), n);
  }

  function hwChart(rows) {
    bestBars("chart-hw", rows, function (r) { return r[C.tput]; }, "Best throughput per GPU (tok/s)", "tok/s/GPU");
  }

  function tokensPerJoule(r) { return r[C.jout] ? 1 / r[C.jout] : null; }

  function tpjChart(rows) {
    bestBars("chart-tpj", rows, tokensPerJoule, "Best output tokens per joule", "tok/J");
  }

  // Energy per output token against interactivity: one line per configuration (its
  // concurrencies, in order of interactivity), coloured by hardware and framework.
  function energyChart(rows) {
    var id = "chart-energy";
    var pts = rows.filter(function (r) { return r[C.intvty] !== null && r[C.jout] !== null; });
    if (!pts.length) return emptyChart(id, "no valid power measurement for this selection");
    var xe = extent(pts.map(function (r) { return r[C.intvty]; }), true);
    var ye = extent(pts.map(function (r) { return r[C.jout]; }), true);
    var xs = linear(xe[0], xe[1], M.l, W - M.r), ys = linear(ye[0], ye[1], H - M.b, M.t);
    var s = [frame(xs, ys, "Interactivity (tok/s/user)", "Energy per output token (J)")];
    groupBy(pts, configKey).forEach(function (g) {
      var c = color[seriesOf(g.rows[0])];
      var line = g.rows.slice().sort(function (a, b) { return a[C.intvty] - b[C.intvty]; });
      if (line.length > 1) {
        s.push('<polyline class="series-line" stroke="' + c + '" points="' +
          line.map(function (r) { return xs(r[C.intvty]).toFixed(1) + "," + ys(r[C.jout]).toFixed(1); }).join(" ") + '"/>');
      }
      line.forEach(function (r) { s.push(dot(xs(r[C.intvty]), ys(r[C.jout]), r, c)); });
    });
    mount(id, s.join(""), pts.length);
  }

  // The energy charts and columns are left out of a report without any power measurement.
  var hasPower = D.rows.some(function (r) { return r[C.jout] !== null; });
  ["chart-energy", "chart-tpj"].forEach(function (id) { document.getElementById(id).hidden = !hasPower; });

  // ---- legend and table ----------------------------------------------------------------
  function legend(rows) {
    var shown = uniq(rows.map(seriesOf)).sort();
    document.getElementById("legend").innerHTML = shown.map(function (s) {
      return '<span><i style="background:' + color[s] + '"></i>' + esc(s) + "</span>";
    }).join("");
  }

  var TABLE_PAGE = 500, tableAll = false;
  var COLS = [
    ["Hardware", function (r) { return dim("hw", r).toUpperCase(); }],
    ["Framework", function (r) { return dim("fw", r).toUpperCase(); }],
    ["Precision", function (r) { return dim("prec", r).toUpperCase(); }],
    ["Served Model", function (r) { return dim("served", r); }],
    ["Parallelism", function (r) { return dim("par", r); }],
    ["Spec", function (r) { return dim("spec", r); }],
    ["Conc", function (r) { return r[C.conc]; }, 1],
    ["GPUs", function (r) { return r[C.gpus]; }, 1],
    ["TTFT (ms)", function (r) { return fmt(r[C.ttft], 2); }, 1],
    ["TPOT (ms)", function (r) { return fmt(r[C.tpot], 2); }, 1],
    ["Interactivity (tok/s/user)", function (r) { return fmt(r[C.intvty], 2); }, 1],
    ["E2EL (s)", function (r) { return fmt(r[C.e2el], 3); }, 1],
    ["TPUT per GPU", function (r) { return fmt(r[C.tput], 1); }, 1],
    ["Output TPUT per GPU", function (r) { return fmt(r[C.otput], 1); }, 1],
    ["Input TPUT per GPU", function (r) { return fmt(r[C.itput], 1); }, 1]
  ];
  if (hasPower) {
    COLS.push(["Power per GPU (W)", function (r) { return fmt(r[C.pw], 1); }, 1],
      ["Energy (J/output tok)", function (r) { return fmt(r[C.jout], 4); }, 1]);
  }

  function table(rows) {
    var tbl = document.getElementById("results");
    tbl.tHead.innerHTML = "<tr>" + COLS.map(function (c) { return "<th>" + esc(c[0]) + "</th>"; }).join("") + "</tr>";
    var sorted = rows.slice().sort(function (a, b) {
      return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a[C.conc] - b[C.conc];
    });
    var shown = tableAll ? sorted : sorted.slice(0, TABLE_PAGE);
    tbl.tBodies[0].innerHTML = shown.map(function (r) {
      return "<tr>" + COLS.map(function (c) { return (c[2] ? '<td class="n">' : "<td>") + esc(c[1](r)) + "</td>"; }).join("") + "</tr>";
    }).join("");
    var note = document.getElementById("table-note");
    note.innerHTML = "";
    if (shown.length < rows.length) {
      var btn = document.createElement("button");
      btn.type = "button"; btn.textContent = "Show all " + rows.length + " rows";
      btn.onclick = function () { tableAll = true; table(rows); };
      note.appendChild(document.createTextNode("Showing the first " + shown.length + " of " + rows.length + " rows. "));
      note.appendChild(btn);
    }
  }

  function render() {
    tableAll = false;
    writeHash();
    var rows = selected();
    document.getElementById("count").textContent = rows.length + " of " + D.rows.length + " results";
    legend(rows);
    paretoChart(rows);
    concChart("chart-tput", rows, C.tput, "Throughput per GPU (tok/s)", true);
    concChart("chart-ttft", rows, C.ttft, "TTFT (ms)", true);
    concChart("chart-tpot", rows, C.tpot, "TPOT (ms)", true);
    hwChart(rows);
    if (hasPower) { energyChart(rows); tpjChart(rows); }
    table(rows);
    document.body.setAttribute("data-points", String(rows.length));
  }

  initState();
  buildControls();
  render();
  window.addEventListener("hashchange", function () { initState(); buildControls(); render(); });
  document.body.setAttribute("data-render-ms", (performance.now() - t0).toFixed(1));
})();
