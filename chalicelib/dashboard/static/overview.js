// The overview page: the calls-per-day chart (uPlot, stacked bars) and the sortable source table.
//
// The chart's data comes from <script type="application/json" id="chart-data"> (CSP allows no
// inline script). uPlot does not stack by itself: each series is drawn as the running sum of the
// ones below it, tallest first, so every bar shows its part of the day's total; the legend and
// the hover values show each part's own count. The same figures are in a table under the chart,
// for screen readers and for anyone who prefers numbers.
(function () {
  "use strict";

  // Each source brings its own colour (the page derives it from the source, not its rank).
  var SHOWN = 8;
  var OTHER = "#8c959f";
  var DAY = 86400;
  var HOUR = 3600;

  function readData() {
    var el = document.getElementById("chart-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  function layers(data, view) {
    if (view === "result") {
      return [
        { label: "Answered", values: data.answered, color: "#2d7a46" },
        { label: "Missed", values: data.missed, color: "#b42318" },
        { label: "Voicemail", values: data.voicemail, color: "#e07b00" },
      ];
    }
    var top = data.sources.slice(0, SHOWN - 1);
    var rest = data.sources.slice(SHOWN - 1);
    var out = top.map(function (s) {
      return { label: s.label, values: s.calls, color: s.colour };
    });
    if (rest.length) {
      out.push({
        label: "Other sources",
        values: data.dates.map(function (_, d) {
          return rest.reduce(function (sum, s) {
            return sum + s.calls[d];
          }, 0);
        }),
        color: OTHER,
      });
    }
    return out;
  }

  function toSeconds(date) {
    var p = date.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 1000;
  }

  function build(container, legend, data, view) {
    var parts = layers(data, view);
    // One day by hour: the hours of the business's day, as seconds from its midnight.
    var x = data.hourly ? data.dates.map(function (_, h) { return h * HOUR; }) : data.dates.map(toSeconds);
    // Running sums, bottom layer first; drawn tallest first so each lower layer paints over it.
    var sums = [];
    var running = x.map(function () {
      return 0;
    });
    parts.forEach(function (p) {
      running = running.map(function (v, i) {
        return v + p.values[i];
      });
      sums.push(running.slice());
    });
    var order = parts.map(function (_, i) {
      return i;
    }).reverse();
    var bars = uPlot.paths.bars({ size: [0.7, 40], align: 0 });
    var series = [{ value: function (u, v) {
      if (v == null) return "";
      return data.hourly ? Math.round(v / HOUR) + ":00" : new Date(v * 1000).toISOString().slice(0, 10);
    } }];
    order.forEach(function (i) {
      series.push({
        label: parts[i].label,
        fill: parts[i].color,
        stroke: parts[i].color,
        width: 0,
        paths: bars,
        points: { show: false },
        value: function (u, v, si, idx) {
          return idx == null ? "" : String(parts[i].values[idx]);
        },
      });
    });
    var width = Math.max(280, container.clientWidth - 2);
    var opts = {
      width: width,
      height: width < 500 ? 220 : 300,
      series: series,
      legend: { show: false },
      // Days are the business's days, sent as UTC midnights: ticks fall on them whatever the browser's zone.
      tzDate: function (ts) {
        return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
      },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: function (u, min, max) { var pad = data.hourly ? HOUR / 2 : DAY / 2; return [min - pad, max + pad]; } }, y: { range: function (u, min, max) { return [0, Math.max(1, Math.ceil(max * 1.1))]; } } },
      axes: [
        {
          stroke: "#57606a",
          grid: { show: false },
          space: 50,
          incrs: data.hourly ? [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR] : [DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY],
          values: function (u, splits) {
            return splits.map(function (s) {
              if (data.hourly) return Math.round(s / HOUR) + ":00";
              var d = new Date(s * 1000);
              return d.getUTCMonth() + 1 + "/" + d.getUTCDate();
            });
          },
        },
        { stroke: "#57606a", grid: { stroke: "#eceef1" }, size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000] },
      ],
    };
    var aligned = [x].concat(order.map(function (i) { return sums[i]; }));
    container.textContent = "";
    var plot = new uPlot(opts, aligned, container);
    legend.textContent = "";
    parts.forEach(function (p) {
      var item = document.createElement("span");
      item.className = "legend-item";
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = p.color; // CSSOM, not a style attribute: allowed by the CSP
      item.appendChild(swatch);
      var total = p.values.reduce(function (a, b) { return a + b; }, 0);
      item.appendChild(document.createTextNode(p.label + " (" + total + ")"));
      legend.appendChild(item);
    });
    return plot;
  }

  function chart() {
    var container = document.getElementById("chart");
    var legend = document.getElementById("chart-legend");
    var data = readData();
    if (!container || !data || typeof uPlot === "undefined") return;
    var view = "source";
    var plot = build(container, legend, data, view);
    var buttons = document.querySelectorAll("[data-view]");
    Array.prototype.forEach.call(buttons, function (b) {
      b.addEventListener("click", function () {
        view = b.getAttribute("data-view");
        Array.prototype.forEach.call(buttons, function (o) {
          o.setAttribute("aria-pressed", String(o === b));
        });
        plot.destroy();
        plot = build(container, legend, data, view);
      });
    });
    var last = container.clientWidth;
    window.addEventListener("resize", function () {
      if (Math.abs(container.clientWidth - last) < 8) return;
      last = container.clientWidth;
      plot.destroy();
      plot = build(container, legend, data, view);
    });
    container.setAttribute("data-ready", "true");
  }

  // A sortable table: each column heading becomes a button; aria-sort says the order to screen readers.
  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      var mark = document.createElement("span");
      mark.className = "sort-mark";
      mark.setAttribute("aria-hidden", "true");
      button.appendChild(mark);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") !== "descending";
        if (th.getAttribute("data-sort") === "text" && !th.hasAttribute("aria-sort")) descending = false;
        sortBy(table, col, th.getAttribute("data-sort") === "num", descending);
        Array.prototype.forEach.call(heads, function (o) {
          o.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      });
    });
  }

  function sortBy(table, col, numeric, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    function key(row) {
      var v = row.cells[col].getAttribute("data-value") || "";
      if (!numeric) return v.toLowerCase();
      return v === "" ? -Infinity : parseFloat(v);
    }
    rows.sort(function (a, b) {
      var ka = key(a), kb = key(b);
      var c = ka < kb ? -1 : ka > kb ? 1 : 0;
      return descending ? -c : c;
    });
    rows.forEach(function (r) {
      body.appendChild(r);
    });
  }

  function start() {
    chart();
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), sortable);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
