// swarm-chaos report pages: mounts every chart of the embedded JSON with uPlot.
// Fault windows are shaded and control-plane events marked through a uPlot plugin (hooks
// drawClear/draw), the library's own extension point. window.chaosReport exposes what was
// drawn, for the browser tests.
(function () {
  "use strict";
  var dataEl = document.getElementById("chart-data");
  if (!dataEl) return;
  var charts = JSON.parse(dataEl.textContent);
  var css = getComputedStyle(document.documentElement);
  function v(name) { return css.getPropertyValue(name).trim(); }
  var BAND = { phase: v("--band-phase"), power: v("--band-power"), api: v("--band-api") };
  var MARK = {
    leader: v("--mark-leader"), node: v("--mark-node"), tasks: v("--mark-tasks"),
    update: v("--mark-update"), api: v("--mark-api"), step: v("--mark-step"),
    guard: v("--mark-guard"),
  };
  var AXIS = v("--axis"), GRID = v("--grid");
  var report = { charts: {} };
  window.chaosReport = report;

  function fmtMs(x) {
    if (x == null) return "–";
    if (x >= 1000) return +(x / 1000).toPrecision(3) + " s";
    return +x.toPrecision(3) + " ms";
  }
  function fmtPct(x) {
    if (x <= 1) return "0%";
    var p = 100 * (1 - 1 / x);
    var digits = Math.max(0, Math.ceil(Math.log10(x)) - 2);
    return p.toFixed(digits) + "%";
  }
  function fmtS(x) { return x == null ? "–" : +x.toFixed(1) + " s"; }

  function shading(spec, record) {
    function px(u, t) { return u.valToPos(t, "x", true); }
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, b = u.bbox;
          record.bands = [];
          ctx.save();
          ctx.beginPath();
          ctx.rect(b.left, b.top, b.width, b.height);
          ctx.clip();
          spec.bands.forEach(function (band) {
            var x0 = Math.max(px(u, band.start), b.left);
            var x1 = Math.min(px(u, band.end), b.left + b.width);
            record.bands.push({
              start: band.start, end: band.end, kind: band.kind, label: band.label,
              x0: u.valToPos(band.start, "x"), x1: u.valToPos(band.end, "x"),
            });
            if (x1 <= x0) return;
            ctx.fillStyle = band.color || BAND[band.kind];
            if (band.kind === "api") {
              var h = 6 * devicePixelRatio;
              ctx.fillRect(x0, b.top, x1 - x0, h);
            } else {
              ctx.fillRect(x0, b.top, x1 - x0, b.height);
            }
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx, b = u.bbox, d = devicePixelRatio;
          record.markers = [];
          ctx.save();
          spec.markers.forEach(function (m) {
            var x = Math.round(px(u, m.t));
            record.markers.push({ t: m.t, kind: m.kind, x: u.valToPos(m.t, "x") });
            if (x < b.left || x > b.left + b.width) return;
            ctx.strokeStyle = MARK[m.kind];
            ctx.fillStyle = MARK[m.kind];
            ctx.lineWidth = d;
            ctx.setLineDash([3 * d, 3 * d]);
            ctx.beginPath();
            ctx.moveTo(x, b.top);
            ctx.lineTo(x, b.top + b.height);
            ctx.stroke();
            ctx.beginPath();  // a small triangle on top says "event here"
            ctx.moveTo(x - 4 * d, b.top);
            ctx.lineTo(x + 4 * d, b.top);
            ctx.lineTo(x, b.top + 6 * d);
            ctx.fill();
          });
          ctx.restore();
          record.drawn = true;
        }],
        setCursor: [function (u) {
          var info = record.hover;
          if (!info) return;
          var left = u.cursor.left;
          if (left == null || left < 0) { info.textContent = "\u00a0"; return; }
          var t = u.posToVal(left, "x");
          var parts = [spec.kind === "time" ? "t = " + fmtS(t) : "p = " + fmtPct(t)];
          spec.bands.forEach(function (band) {
            if (t >= band.start && t < band.end) parts.push(band.label);
          });
          spec.markers.forEach(function (m) {
            if (Math.abs(u.valToPos(m.t, "x") - left) <= 5) {
              parts.push(fmtS(m.t) + " " + m.label);
            }
          });
          info.textContent = parts.join(" · ");
        }],
      },
    };
  }

  // Log axes: one grid line per decade (uPlot's default adds the 2..9 minor lines too).
  function decades(scale) {
    return function (u) {
      var s = u.scales[scale], out = [];
      if (s.min == null || s.max == null) return out;
      for (var e = Math.floor(Math.log10(s.min)); e <= Math.ceil(Math.log10(s.max)); e++) {
        var x = Math.pow(10, e);
        if (x >= s.min * 0.999 && x <= s.max * 1.001) out.push(x);
      }
      return out;
    };
  }

  function options(spec, width, record) {
    var percentile = spec.kind === "percentile";
    var yFmt = spec.y_label === "ms"
      ? function (u, vals) { return vals.map(fmtMs); }
      : function (u, vals) { return vals.map(function (x) { return x == null ? "" : +x.toFixed(1); }); };
    var series = [{ label: percentile ? "percentile" : "t (s)",
      value: function (u, x) { return x == null ? "–" : (percentile ? fmtPct(x) : fmtS(x)); } }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label, stroke: s.color, width: s.width, dash: s.dash ? [6, 4] : undefined,
        spanGaps: false, points: { show: false },
        value: function (u, x) { return x == null ? "–" : (spec.y_label === "ms" ? fmtMs(x) : +x.toFixed(1)); },
      });
    });
    var xAxis = { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID } };
    if (percentile) {
      xAxis.splits = decades("x");
      xAxis.values = function (u, vals) { return vals.map(fmtPct); };
    } else {
      xAxis.values = function (u, vals) { return vals.map(function (x) { return +x.toFixed(1) + " s"; }); };
    }
    var yAxis = { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID },
      values: yFmt, size: 64, label: spec.y_label === "ms" ? "" : spec.y_label, labelSize: 18 };
    if (spec.y_log) yAxis.splits = decades("y");
    return {
      width: width,
      height: percentile ? 300 : 240,
      series: series,
      scales: {
        x: percentile ? { time: false, distr: 3, log: 10 } : { time: false },
        y: spec.y_log ? { distr: 3, log: 10 } : { range: function (u, lo, hi) { return [0, Math.max(hi * 1.08, 1)]; } },
      },
      axes: [xAxis, yAxis],
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
      plugins: [shading(spec, record)],
    };
  }

  function mount(spec) {
    var fig = document.querySelector('[data-chart="' + spec.id + '"]');
    if (!fig) throw new Error("no container for chart " + spec.id);
    var plot = fig.querySelector(".plot");
    var record = { id: spec.id, hover: fig.querySelector(".hover"), bands: [], markers: [] };
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var u = new uPlot(options(spec, plot.clientWidth || 800, record), data, plot);
    record.u = u;
    record.points = spec.series.map(function (s) {
      return s.values.filter(function (x) { return x != null; }).length;
    });
    report.charts[spec.id] = record;
    return u;
  }

  var plots = charts.map(mount);
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () {
      plots.forEach(function (u) {
        var w = u.root.parentNode.clientWidth;
        if (w && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
      });
    }, 100);
  });
  report.ready = true;
})();
