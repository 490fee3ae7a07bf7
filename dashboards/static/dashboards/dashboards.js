// Draws each dashboard table that names a chart with Chart.js (vendored), and toggles between the
// chart and the table of the same figures (the accessible view). Clicking a bar or point opens the
// list of records behind it, as the table's links do.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-charts");
  if (!source || typeof Chart === "undefined") {
    document.querySelectorAll(".table-responsive.d-none").forEach((el) => el.classList.remove("d-none"));
    return;
  }
  const tables = JSON.parse(source.textContent);
  const palette = ["#0d6efd", "#dc3545", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d", "#d63384", "#0dcaf0", "#ffc107"];
  Object.entries(tables).forEach(([key, table]) => {
    const canvas = document.getElementById("chart-" + key);
    if (!canvas) return;
    const chart = table.chart;
    const labels = table.rows.map((row) => row[chart.label]);
    const columns = Object.fromEntries(table.columns.map((c) => [c.key, c.label]));
    const datasets = chart.series.map((serie, i) => ({
      label: columns[serie] || serie,
      data: table.rows.map((row) => row[serie]),
      backgroundColor: chart.type === "doughnut" ? palette : palette[i % palette.length],
      borderColor: chart.type === "doughnut" ? "#fff" : palette[i % palette.length],
      fill: false,
      tension: 0.2,
      serie: serie,
    }));
    const stacked = Boolean(chart.stacked);
    new Chart(canvas, {
      type: chart.type,
      data: { labels: labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: chart.type === "doughnut" ? {} : { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } },
        onClick: (event, elements) => {
          if (!elements.length) return;
          const element = elements[0];
          const serie = datasets[element.datasetIndex].serie;
          const url = (table.links[element.index] || {})[serie];
          if (url) window.location.href = url;
        },
      },
    });
  });
  document.querySelectorAll("[data-toggle-view]").forEach((button) => {
    button.addEventListener("click", () => {
      const key = button.dataset.toggleView;
      const tableView = document.getElementById("table-" + key);
      const chartBox = document.getElementById("chart-" + key).parentElement;
      const showTable = tableView.classList.contains("d-none");
      tableView.classList.toggle("d-none", !showTable);
      chartBox.classList.toggle("d-none", showTable);
      button.textContent = showTable ? "Chart" : "Table";
      button.setAttribute("aria-pressed", String(showTable));
    });
  });
})();
