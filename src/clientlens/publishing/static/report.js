// Sorting, filtering and paging for tables marked cl-sortable. The only script a page runs:
// its hash is the one the page's Content-Security-Policy allows.
(function () {
  // The pager's words, in the page's language, come with the page (publish.pager_words).
  var WORDS = JSON.parse(document.documentElement.getAttribute("data-pager-words"));

  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) { return ""; }
    var text = (cell.getAttribute("data-sort") || cell.textContent).trim();
    var number = parseFloat(text.replace(/[\s\u00a0\u202f]/g, "").replace(/[^0-9.,\-]/g, "").replace(",", "."));
    return isNaN(number) || /[a-zA-Z\u0400-\u04FF]{2,}/.test(text) ? text.toLowerCase() : number;
  }

  function setUp(table) {
    var body = table.tBodies[0];
    var pageSize = parseInt(table.getAttribute("data-page-size") || "0", 10);
    var block = table.closest(".cl-table-block");
    var input = block ? block.querySelector("input.cl-filter") : null;
    var page = 0;
    var pager = null, label = null, previous = null, next = null;

    function matching() {
      return Array.prototype.filter.call(body.rows, function (row) {
        return !row.classList.contains("cl-filtered-out");
      });
    }
    function showPage() {
      if (!pageSize) { return; }
      var rows = matching();
      var pages = Math.max(1, Math.ceil(rows.length / pageSize));
      page = Math.min(Math.max(page, 0), pages - 1);
      Array.prototype.forEach.call(body.rows, function (row) { row.classList.add("cl-off-page"); });
      rows.slice(page * pageSize, (page + 1) * pageSize).forEach(function (row) {
        row.classList.remove("cl-off-page");
      });
      label.textContent = rows.length ? WORDS.rows.replace("{a}", page * pageSize + 1)
        .replace("{b}", Math.min(rows.length, (page + 1) * pageSize)).replace("{n}", rows.length) : WORDS.none;
      previous.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    if (pageSize && body.rows.length > pageSize) {
      pager = document.createElement("div");
      pager.className = "cl-pager";
      previous = document.createElement("button");
      previous.type = "button";
      previous.textContent = WORDS.previous;
      next = document.createElement("button");
      next.type = "button";
      next.textContent = WORDS.next;
      label = document.createElement("span");
      pager.appendChild(previous);
      pager.appendChild(label);
      pager.appendChild(next);
      previous.addEventListener("click", function () { page -= 1; showPage(); });
      next.addEventListener("click", function () { page += 1; showPage(); });
      table.parentNode.parentNode.insertBefore(pager, table.parentNode.nextSibling);
    } else {
      pageSize = 0;
    }

    var headers = table.tHead.rows[table.tHead.rows.length - 1].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          if (x === y) { return 0; }
          return (x > y ? 1 : -1) * (ascending ? 1 : -1);
        });
        Array.prototype.forEach.call(headers, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        rows.forEach(function (row) { body.appendChild(row); });
        page = 0;
        showPage();
      });
    });
    if (input) {
      input.addEventListener("input", function () {
        var needle = input.value.trim().toLowerCase();
        Array.prototype.forEach.call(body.rows, function (row) {
          row.classList.toggle("cl-filtered-out", !!needle && row.textContent.toLowerCase().indexOf(needle) < 0);
        });
        page = 0;
        showPage();
      });
    }
    showPage();
  }

  document.querySelectorAll("table.cl-sortable").forEach(function (table) {
    if (table.tHead && table.tBodies.length) { setUp(table); }
  });
})();
