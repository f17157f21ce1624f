// swarm-chaos sweep page: one strip chart per metric with uPlot. Every repeat of a setting is
// a point (series per setting, no line), its bootstrap interval a band and its median a bar,
// drawn by a plugin (hooks drawAxes/draw, uPlot's extension point). window.chaosSweep
// exposes what was drawn, for the browser tests.
(function () {
  "use strict";
  var dataEl = document.getElementById("sweep-data");
  if (!dataEl) return;
  var strips = JSON.parse(dataEl.textContent);
  var css = getComputedStyle(document.documentElement);
  function v(name) { return css.getPropertyValue(name).trim(); }
  var AXIS = v("--axis"), GRID = v("--grid");
  var out = { strips: {} };
  window.chaosSweep = out;

  // repeats of one setting spread across [i - 0.2, i + 0.2] so equal values stay visible
  function offset(j, n) { return n <= 1 ? 0 : -0.2 + 0.4 * j / (n - 1); }

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function intervals(strip, record) {
    function band(u, c, i, ctx) {
      if (c.low == null || c.high == null) return;
      var x0 = u.valToPos(i - 0.3, "x", true), x1 = u.valToPos(i + 0.3, "x", true);
      var y0 = u.valToPos(c.high, "y", true), y1 = u.valToPos(c.low, "y", true);
      ctx.fillStyle = rgba(c.color, 0.16);
      ctx.fillRect(x0, y0, x1 - x0, Math.max(y1 - y0, devicePixelRatio));
      record.intervals.push({ cell: i, low: c.low, high: c.high });
    }
    return {
      hooks: {
        drawAxes: [function (u) {
          var ctx = u.ctx;
          record.intervals = [];
          ctx.save();
          strip.cells.forEach(function (c, i) { band(u, c, i, ctx); });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx, d = devicePixelRatio;
          record.medians = [];
          ctx.save();
          strip.cells.forEach(function (c, i) {
            if (c.median == null) return;
            var x0 = u.valToPos(i - 0.3, "x", true), x1 = u.valToPos(i + 0.3, "x", true);
            var y = Math.round(u.valToPos(c.median, "y", true));
            ctx.strokeStyle = c.color;
            ctx.lineWidth = 2.5 * d;
            ctx.beginPath();
            ctx.moveTo(x0, y);
            ctx.lineTo(x1, y);
            ctx.stroke();
            record.medians.push({ cell: i, median: c.median });
          });
          ctx.restore();
          record.drawn = true;
        }],
        setCursor: [function (u) {
          var left = u.cursor.left;
          if (left == null || left < 0) { record.hover.textContent = "\u00a0"; return; }
          var i = Math.round(u.posToVal(left, "x"));
          var c = strip.cells[i];
          record.hover.textContent = c ? c.text : "\u00a0";
        }],
      },
    };
  }

  function mount(strip) {
    var fig = document.querySelector('[data-strip="' + strip.id + '"]');
    if (!fig) throw new Error("no container for strip " + strip.id);
    var plot = fig.querySelector(".plot");
    var record = { id: strip.id, hover: fig.querySelector(".hover"), intervals: [], medians: [] };
    var xs = [], columns = strip.cells.map(function () { return []; });
    strip.cells.forEach(function (c, i) {
      c.values.forEach(function (y, j) {
        xs.push(i + offset(j, c.values.length));
        columns.forEach(function (col, k) { col.push(k === i ? y : null); });
      });
    });
    var k = strip.cells.length;
    var series = [{ label: strip.axis, value: function (u, x) { return x == null ? "–" : strip.cells[Math.round(x)].tick; } }];
    strip.cells.forEach(function (c) {
      series.push({
        label: c.label, stroke: c.color, fill: c.color, width: 0,
        paths: function () { return null; },
        points: { show: true, size: 8, stroke: c.color, fill: rgba(c.color, 0.55), width: 1.5 },
      });
    });
    var ticks = strip.cells.map(function (c) { return c.tick; });
    var grid = { stroke: GRID, width: 1 };
    var top = 1;
    strip.cells.forEach(function (c) {
      c.values.concat([c.high]).forEach(function (y) { if (y != null && y > top) top = y; });
    });
    var opts = {
      width: plot.clientWidth || 560,
      height: 240,
      series: series,
      scales: {
        x: { time: false, range: [-0.6, k - 0.4] },
        y: { range: [0, top * 1.12] },
      },
      axes: [
        { stroke: AXIS, grid: { show: false }, ticks: { stroke: GRID },
          splits: function () { return ticks.map(function (t, i) { return i; }); },
          values: function (u, vals) { return vals.map(function (x) { return ticks[Math.round(x)] || ""; }); },
          label: strip.axis, labelSize: 18 },
        { stroke: AXIS, grid: grid, ticks: { stroke: GRID }, size: 64,
          label: strip.unit, labelSize: 18 },
      ],
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      plugins: [intervals(strip, record)],
    };
    var u = new uPlot(opts, [xs].concat(columns), plot);
    record.u = u;
    record.points = xs.length;
    out.strips[strip.id] = record;
    return u;
  }

  var plots = strips.map(mount);
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
  out.ready = true;
})();
