// Rubric items for written answers (grading/pages/rubric_server.py): the panels on nbgrader's submission
// page, and the page that grades one written cell across the class. No inline script, no eval,
// nothing loaded from elsewhere; what a student wrote arrives as HTML the server already cleaned
// (grading/pages/sanitize.py) and is only moved around here, never built from strings.
(function () {
  "use strict";

  function xsrf() {
    var m = document.cookie.match("\\b_xsrf=([^;]*)\\b");
    return m ? m[1] : "";
  }

  // The server's XSRF check reads the _xsrf cookie back from the request's _xsrf argument. A page
  // opened with ?token=... (a link with the server's token) authenticates its requests with it, as
  // Jupyter's own clients do; otherwise the login cookie does.
  // (read while the page is parsed: nbgrader's submission page rewrites its URL once loaded)
  var TOKEN = /[?&]token=([^&#]+)/.exec(window.location.search);

  function request(url, method, body) {
    var headers = {"Content-Type": "application/json"};
    if (TOKEN) { headers.Authorization = "token " + decodeURIComponent(TOKEN[1]); }
    url += (url.indexOf("?") < 0 ? "?" : "&") + "_xsrf=" + encodeURIComponent(xsrf());
    return fetch(url, {
      method: method, credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return {status: r.status, data: data};
      });
    });
  }

  function fmt(x) { return String(Math.round(x * 100) / 100); }

  // One student's cell: what the grader wants (desired) and what the server holds (state).
  // Saves go one after another, each with the version the previous one returned; a save on a
  // version another grader replaced comes back 409 with their items, which are then shown.
  function Marker(apiRoot, items, state, onChange) {
    this.apiRoot = apiRoot;
    this.items = items;
    this.state = state;
    this.desired = {applied: Object.assign({}, state.applied), note: state.note || ""};
    this.onChange = onChange;
    this.queue = Promise.resolve();
    this.message = "";
  }
  Marker.prototype.item = function (id) {
    return this.items.find(function (i) { return String(i.id) === String(id); });
  };
  Marker.prototype.score = function () {
    var total = 0, that = this;
    Object.keys(this.desired.applied).forEach(function (id) {
      var item = that.item(id);
      if (item) { total += item.points * that.desired.applied[id]; }
    });
    return Math.min(Math.max(total, 0), this.state.max_score);
  };
  Marker.prototype.toggle = function (id, fraction) {
    var item = this.item(id);
    if (!item || (fraction !== 1 && !item.half_allowed)) { return; }
    var key = String(item.id);
    if (this.desired.applied[key] === fraction) { delete this.desired.applied[key]; }
    else { this.desired.applied[key] = fraction; }
    this.save();
  };
  Marker.prototype.none = function () { this.desired.applied = {}; this.save(); };
  Marker.prototype.setNote = function (text) {
    if (text === this.desired.note) { return; }
    this.desired.note = text;
    this.save();
  };
  Marker.prototype.save = function () {
    var that = this;
    this.message = "saving…";
    this.onChange(this);
    this.queue = this.queue.then(function () {
      return request(that.apiRoot + "mark", "PUT", {
        student: that.state.student, notebook: that.state.notebook, cell: that.state.cell,
        applied: that.desired.applied, note: that.desired.note, version: that.state.version
      });
    }).then(function (res) {
      if (res.status === 200) {
        that.state = res.data;
        that.message = "saved";
      } else if (res.status === 409 && res.data.state) {
        that.state = res.data.state;
        that.desired = {applied: Object.assign({}, that.state.applied), note: that.state.note || ""};
        that.message = "Not saved: " + (that.state.grader || "another grader") +
          " changed this answer meanwhile; their items are shown. Apply again to change them.";
      } else {
        that.message = "Not saved (" + res.status + "): " + (res.data.message || "error");
      }
      that.onChange(that);
    }).catch(function (err) {
      that.message = "Not saved: " + err;
      that.onChange(that);
    });
    return this.queue;
  };

  // A key press as a rubric action, or null.
  function action(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return null; }
    var digit = /^Digit([1-9])$/.exec(e.code || "");
    if (digit) { return {kind: "item", key: digit[1], fraction: e.shiftKey ? 0.5 : 1}; }
    if (e.key === "-" || e.code === "Minus" || e.code === "NumpadSubtract") { return {kind: "item", key: "-", fraction: 1}; }
    if (e.key === "0") { return {kind: "none"}; }
    var named = {m: "model", c: "note", j: "next", n: "next", k: "prev", p: "prev", u: "ungraded"};
    return named[e.key] ? {kind: named[e.key]} : null;
  }

  function itemByKey(items, key) {
    return items.find(function (i) { return i.key === key; });
  }

  function paint(list, marker) {
    list.querySelectorAll(".rubric-item").forEach(function (b) {
      var f = marker.desired.applied[b.getAttribute("data-id")];
      b.setAttribute("aria-pressed", f ? "true" : "false");
      b.classList.toggle("half", f === 0.5);
    });
  }

  function act(a, marker, panel) {
    if (a.kind === "item") {
      var item = itemByKey(marker.items, a.key);
      if (item) { marker.toggle(item.id, a.fraction); }
      return true;
    }
    if (a.kind === "none") { marker.none(); return true; }
    if (a.kind === "model") { var d = panel.querySelector("details.model"); d.open = !d.open; return true; }
    if (a.kind === "note") { panel.querySelector("textarea.rubric-note").focus(); return true; }
    return false;
  }

  function wireButtons(panel, getMarker) {
    panel.querySelectorAll(".rubric-item").forEach(function (b) {
      b.addEventListener("click", function (e) {
        getMarker().toggle(b.getAttribute("data-id"), e.shiftKey ? 0.5 : 1);
      });
    });
    var note = panel.querySelector("textarea.rubric-note");
    note.addEventListener("change", function () { getMarker().setNote(note.value); });
    note.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { note.blur(); e.preventDefault(); }
      e.stopPropagation();
    });
  }

  // --- the grade-by-question page ------------------------------------------------------------
  function questionPage(data) {
    var apiRoot = data.base_url + "/formgrader/rubric/api/";
    var panel = document.getElementById("rubric");
    var articles = Array.prototype.slice.call(document.querySelectorAll("article.answer"));
    var peers = document.getElementById("peers");
    var markers = data.students.map(function (s) { return new Marker(apiRoot, data.items, s.state, changed); });
    var index = 0;
    if (!markers.length) {
      document.getElementById("progress").textContent = "no submissions yet";
      return;
    }

    function graded(m) { return !m.state.needs_manual_grade; }
    function changed(m) {
      if (m === markers[index]) { show(index, false); }
      document.getElementById("progress").textContent =
        markers.filter(graded).length + " of " + markers.length + " graded";
    }
    function peerBlock(name) {
      var j = data.students.findIndex(function (s) { return s.student === name; });
      var box = document.createElement("div");
      box.className = "peer";
      var h = document.createElement("h3");
      var keys = Object.keys(markers[j].desired.applied).map(function (id) {
        var item = markers[j].item(id);
        return item ? item.key + (markers[j].desired.applied[id] === 0.5 ? "½" : "") : "";
      }).join(" ");
      h.textContent = name + (graded(markers[j]) ? " — items: " + (keys || "none") + ", " +
        fmt(markers[j].state.score) + " points" : " — not graded yet");
      box.appendChild(h);
      box.appendChild(articles[j].querySelector(".answer-text").cloneNode(true));
      return box;
    }
    function show(i, focus) {
      index = Math.max(0, Math.min(i, markers.length - 1));
      var m = markers[index], s = data.students[index];
      articles.forEach(function (a, k) { a.hidden = k !== index; });
      paint(panel, m);
      var note = panel.querySelector("textarea.rubric-note");
      if (document.activeElement !== note) { note.value = m.desired.note; }
      document.getElementById("position").textContent =
        "answer " + (index + 1) + " of " + markers.length + ": " + s.student;
      document.getElementById("score").textContent = "Score: " + fmt(m.score()) + " of " + fmt(m.state.max_score) +
        (graded(m) ? " (graded" + (m.state.grader ? " by " + m.state.grader : "") + ")" : " (not graded yet)");
      document.getElementById("status").textContent = m.message;
      peers.replaceChildren.apply(peers, s.alike.slice(0, 3).map(peerBlock));  // three at most
      peers.hidden = s.alike.length === 0;
      if (focus) { articles[index].focus(); }
    }
    function nextUngraded() {
      for (var k = 1; k <= markers.length; k++) {
        var j = (index + k) % markers.length;
        if (!graded(markers[j])) { return j; }
      }
      return index;
    }
    wireButtons(panel, function () { return markers[index]; });
    document.addEventListener("keydown", function (e) {
      if (e.target && (e.target.tagName === "TEXTAREA" || e.target.tagName === "INPUT")) { return; }
      var a = action(e);
      if (!a) { return; }
      e.preventDefault();
      if (a.kind === "next") { show(index + 1, false); }
      else if (a.kind === "prev") { show(index - 1, false); }
      else if (a.kind === "ungraded") { show(nextUngraded(), false); }
      else { act(a, markers[index], panel); }
    });
    window.rubricQuestion = {show: show, markers: markers, index: function () { return index; }};
    changed(markers[0] || {state: {}});
    var first = markers.findIndex(function (m) { return !graded(m); });
    show(first < 0 ? 0 : first, false);
  }

  // --- panels on nbgrader's submission page --------------------------------------------------
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function submissionPanel(root, cellName, info) {
    var cell = document.getElementById(cellName);
    var box = cell && cell.closest(".nbgrader_cell");
    if (!box) { return; }
    var panel = el("div", {"class": "rubric-panel tabbable", tabindex: "0", role: "group",
                           "aria-label": "Rubric items for " + cellName});
    var heading = el("p", {"class": "rubric-help"},
      "Rubric: keys 1-9 apply an item (Shift: half), - the sentence-limit deduction, 0 nothing applies, c a note, m the model answer. ");
    var link = el("a", {href: info.question_url}, "Grade this question across the class");
    heading.appendChild(link);
    panel.appendChild(heading);
    var list = el("ul", {"class": "rubric-items"});
    info.items.forEach(function (item) {
      var b = el("button", {type: "button", "class": "rubric-item", "data-id": String(item.id), "aria-pressed": "false"});
      b.appendChild(el("kbd", {}, item.key));
      b.appendChild(el("span", {"class": "points"}, " " + (item.points > 0 ? "+" : "") + fmt(item.points) +
        (item.half_allowed ? " (Shift: half) " : " ")));
      var text = el("span", {"class": "text"});
      text.innerHTML = item.html;  // the server's cleaned HTML (grading/pages/sanitize.py)
      b.appendChild(text);
      var li = el("li");
      li.appendChild(b);
      list.appendChild(li);
    });
    panel.appendChild(list);
    var noteLabel = el("label", {"for": cellName + "-rubric-note"}, "Note for the student (optional)");
    var note = el("textarea", {id: cellName + "-rubric-note", "class": "rubric-note", rows: "2"});
    panel.appendChild(noteLabel);
    panel.appendChild(note);
    var status = el("p", {"class": "rubric-status", role: "status"});
    panel.appendChild(status);
    var model = el("details", {"class": "model"});
    model.appendChild(el("summary", {}, "Model answer (m)"));
    var answer = el("div", {"class": "model-answer"});
    answer.innerHTML = info.model_html;  // the instructor's source, rendered and cleaned by the server
    model.appendChild(answer);
    panel.appendChild(model);

    var score = box.querySelector("input.score");
    var comment = box.querySelector("textarea.comment");
    if (score) { score.readOnly = true; score.title = "the sum of the rubric items applied"; }
    if (comment) { comment.readOnly = true; comment.title = "the items applied and your note: what the student sees"; }
    box.querySelectorAll(".scoring-buttons").forEach(function (b) { b.style.display = "none"; });
    var footer = comment ? comment.parentNode : box;
    footer.parentNode.insertBefore(panel, footer);

    var marker = new Marker(root, info.items, info.state, function (m) {
      paint(panel, m);
      status.textContent = m.message;
      if (m.message === "saving…") { return; }
      if (score) { score.value = m.state.score === null ? "" : String(m.state.score); }
      if (comment) { comment.value = m.state.comment || ""; }
      var fg = window.formgrader;  // nbgrader's page: its models hold the new values too
      var g = fg && fg.grades && fg.grades.findWhere({name: cellName});
      if (g) { g.set({manual_score: m.state.score, needs_manual_grade: m.state.needs_manual_grade}); }
      var c = fg && fg.comments && fg.comments.findWhere({name: cellName});
      if (c) { c.set({manual_comment: m.state.comment}); }
      if (window.jQuery) { window.jQuery(document).trigger("finished_saving"); }
    });
    note.value = marker.desired.note;
    paint(panel, marker);
    wireButtons(panel, function () { return marker; });
    panel.addEventListener("keydown", function (e) {
      var a = action(e);
      if (a && act(a, marker, panel)) { e.preventDefault(); e.stopPropagation(); }
    });
  }

  function submissionPage() {
    var root = window.base_url + "/rubric/api/";
    var css = el("link", {rel: "stylesheet", href: window.base_url + "/rubric/static/rubric.css"});
    document.head.appendChild(css);
    request(root + "submission/" + encodeURIComponent(window.submission_id), "GET").then(function (res) {
      if (res.status !== 200) { return; }
      Object.keys(res.data.cells).forEach(function (name) { submissionPanel(root, name, res.data.cells[name]); });
      document.body.setAttribute("data-rubric-ready", "true");
    });
  }

  var data = document.getElementById("rubric-data");
  if (data) {
    questionPage(JSON.parse(data.textContent));
    document.body.setAttribute("data-rubric-ready", "true");
  } else if (window.submission_id && window.base_url) {
    if (document.readyState === "complete") { submissionPage(); }
    else { window.addEventListener("load", submissionPage); }
  }
})();
