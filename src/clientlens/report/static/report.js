// Sorting and filtering for tables marked cl-sortable. The only script a page runs:
// its hash is the one the page's Content-Security-Policy allows.
(function () {
  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) { return ""; }
    var text = (cell.getAttribute("data-sort") || cell.textContent).trim();
    var number = parseFloat(text.replace(/[\s\u00a0\u202f]/g, "").replace(/[^0-9.,\-]/g, "").replace(",", "."));
    return isNaN(number) || /[a-zA-Z\u0400-\u04FF]{2,}/.test(text) ? text.toLowerCase() : number;
  }
  function sortBy(table, index, header) {
    var body = table.tBodies[0];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (x === y) { return 0; }
      return (x > y ? 1 : -1) * (ascending ? 1 : -1);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.cl-sortable").forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      th.addEventListener("click", function () { sortBy(table, index, th); });
    });
    var tools = table.closest(".cl-table-block");
    var input = tools ? tools.querySelector("input.cl-filter") : null;
    if (input) {
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          row.style.display = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
        });
      });
    }
  });
})();
