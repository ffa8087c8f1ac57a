// A form that came back with errors: their summary takes the focus, so it is read out and its links are next.
(function () {
  "use strict";
  var errors = document.getElementById("form-errors");
  if (errors) { errors.focus(); }
})();

// A form posted the ordinary way (messages, fields, tasks, sign-in, sign-out) is sent once: a second submit while
// the first is on its way is dropped and the submit buttons are disabled. Listened for on the document, so forms
// that arrive later (the needs and tasks fetched again after an upload) are covered too. Without JavaScript the
// forms post as before.
(function () {
  "use strict";
  function buttons(form) { return form.querySelectorAll("button[type=submit], input[type=submit]"); }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // the upload form is sent by script below, which disables its own button
    if (event.defaultPrevented || form.id === "upload" || form.getAttribute("method") !== "post") { return; }
    if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
    form.setAttribute("data-sending", "true");
    // disabled after the browser has read the form, so a submitter's own name and value are still sent
    window.setTimeout(function () {
      Array.prototype.forEach.call(buttons(form), function (button) { button.disabled = true; });
    }, 0);
  });
  // a page restored from the back-forward cache can be posted again
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-sending]"), function (form) {
      form.removeAttribute("data-sending");
      Array.prototype.forEach.call(buttons(form), function (button) { button.disabled = false; });
    });
  });
})();

// Uploads go straight to S3 with a presigned form: checked here first, progress shown, errors in words.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form) { return; }
  var type = document.getElementById("upload-type");
  var file = document.getElementById("upload-file");
  var hint = document.getElementById("upload-hint");
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  var csrf = form.getAttribute("data-csrf");

  function chosen() { return type.options[type.selectedIndex]; }
  function say(text, failed) {
    status.textContent = text;
    status.classList.toggle("error", !!failed);
  }
  function showHint() { hint.textContent = chosen().getAttribute("data-hint"); }
  type.addEventListener("change", showHint);
  showHint();
  file.addEventListener("change", function () { file.removeAttribute("aria-invalid"); });

  // The case learns of a confirmed upload a moment later: the page's documents and needs are fetched again
  // until the new document is among them (for a while only: a file the checks refuse never appears).
  function documentLinks(root) {
    return Array.prototype.map.call(root.querySelectorAll("#documents-list a"), function (link) {
      return link.getAttribute("href");
    });
  }
  function refresh(known, attempt) {
    fetch("/portal/case", {credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var added = documentLinks(fresh).some(function (href) { return known.indexOf(href) < 0; });
        if (added) {
          ["needs-list", "documents-list"].forEach(function (id) {
            var part = fresh.getElementById(id);
            if (part) { document.getElementById(id).replaceWith(document.importNode(part, true)); }
          });
        } else if (attempt < 20) {
          window.setTimeout(function () { refresh(known, attempt + 1); }, Math.min(500 * (attempt + 1), 3000));
        }
      })
      .catch(function () { /* a session that ended: the next visit of the page says so */ });
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (payload) {
        // the API words its refusals in the page's language; an answer without words (a proxy's) gets the page's own
        if (!response.ok) { throw new Error(payload.detail || status.getAttribute("data-failed")); }
        return payload;
      });
    });
  }

  function sendToStorage(target, picked) {
    return new Promise(function (resolve, reject) {
      var data = new FormData();
      Object.keys(target.fields).forEach(function (name) { data.append(name, target.fields[name]); });
      data.append("file", picked);
      var request = new XMLHttpRequest();
      request.open("POST", target.url);
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) { bar.value = Math.round(100 * event.loaded / event.total); }
      });
      request.addEventListener("load", function () {
        if (request.status >= 200 && request.status < 300) { resolve(); }
        else { reject(new Error(status.getAttribute("data-failed"))); }
      });
      request.addEventListener("error", function () { reject(new Error(status.getAttribute("data-failed"))); });
      request.send(data);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var option = chosen();
    var picked = file.files[0];
    if (!picked) {
      say(status.getAttribute("data-no-file"), true);
      file.setAttribute("aria-invalid", "true");
      file.focus();
      return;
    }
    var types = option.getAttribute("data-types").split(",");
    if (types.indexOf(picked.type) < 0) { say(option.getAttribute("data-wrong-type"), true); file.focus(); return; }
    if (picked.size > Number(option.getAttribute("data-max"))) {
      say(option.getAttribute("data-too-big"), true); file.focus(); return;
    }
    var known = documentLinks(document);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    say(status.getAttribute("data-progress"), false);
    postJson("/portal/uploads", {type: option.value, filename: picked.name, content_type: picked.type, size: picked.size})
      .then(function (target) {
        return sendToStorage(target, picked).then(function () {
          return postJson("/portal/uploads/" + target.upload_id + "/confirm", {});
        });
      })
      .then(function () {
        bar.value = 100;
        say(status.getAttribute("data-done"), false);
        form.reset();
        showHint();
        refresh(known, 0);
      })
      .catch(function (error) { bar.hidden = true; say(error.message, true); })
      .then(function () { button.disabled = false; });
  });
})();
