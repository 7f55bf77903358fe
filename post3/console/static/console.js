// post3 console: uploads with progress and cancel, drag and drop, select all, copy buttons.
// The pages work without it except for uploads (which need the browser to send the bytes).
"use strict";

function formatSize(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

class Cancelled extends Error {}

// One PUT of a blob to a presigned URL, reporting bytes sent; resolves to the ETag.
function put(url, blob, onProgress, state) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    state.xhr = xhr;
    xhr.open("PUT", url);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader("ETag"));
      else {
        const code = (xhr.responseText.match(/<Code>([^<]*)<\/Code>/) || [])[1];
        reject(new Error(code || `HTTP ${xhr.status}`));
      }
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.onabort = () => reject(new Cancelled("cancelled"));
    xhr.send(blob);
  });
}

async function api(panel, path, body) {
  const response = await fetch(panel.dataset.api + path, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": panel.dataset.csrf},
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

async function uploadFile(panel, file, key, row, state) {
  const bar = row.querySelector("progress"), text = row.querySelector(".status");
  const seen = [];
  const show = (sent) => {
    bar.value = file.size ? sent / file.size * 100 : 100;
    const percent = Math.floor(bar.value);
    if (seen[seen.length - 1] !== percent) seen.push(percent);
    bar.dataset.seen = seen.join(",");
    text.textContent = `${formatSize(sent)} of ${formatSize(file.size)}`;
  };
  const bucket = panel.dataset.bucket;
  const plan = await api(panel, "uploads", {bucket, key, size: file.size, type: file.type});
  if (state.cancelled) throw new Cancelled("cancelled");
  if (plan.mode === "put") {
    await put(plan.url, file, show, state);
  } else {
    state.abort = () => api(panel, "uploads/abort", {bucket, key, upload_id: plan.upload_id});
    const etags = [];
    for (let index = 0; index < plan.urls.length; index += 1) {
      if (state.cancelled) throw new Cancelled("cancelled");
      const start = index * plan.part_size;
      const part = file.slice(start, start + plan.part_size);
      etags.push(await put(plan.urls[index], part, (loaded) => show(start + loaded), state));
    }
    await api(panel, "uploads/complete", {bucket, key, upload_id: plan.upload_id, etags});
    state.abort = null;
  }
  show(file.size);
}

function setUpUploads(panel) {
  const input = panel.querySelector("#files"), list = panel.querySelector("#upload-list");
  const start = panel.querySelector("#upload-start"), cancel = panel.querySelector("#upload-cancel");
  const zone = panel.querySelector("#dropzone"), done = panel.querySelector("#upload-done");
  let state = null;

  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    input.files = event.dataTransfer.files;
  });

  cancel.addEventListener("click", () => {
    if (!state) return;
    state.cancelled = true;
    if (state.xhr) state.xhr.abort();
  });

  start.addEventListener("click", async () => {
    let folder = panel.querySelector("#upload-folder").value.trim().replace(/^\/+/, "");
    if (folder && !folder.endsWith("/")) folder += "/";
    const files = Array.from(input.files);
    if (!files.length) { input.focus(); return; }
    start.disabled = true; cancel.disabled = false; done.hidden = true;
    state = {cancelled: false};
    for (const file of files) {
      const key = folder + file.name;
      const row = document.createElement("li");
      const label = document.createElement("span");
      label.textContent = key;
      const bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", `Uploading ${key}`);
      const status = document.createElement("span");
      status.className = "status";
      row.append(label, " ", status, bar);
      list.append(row);
      try {
        if (state.cancelled) throw new Cancelled("cancelled");
        await uploadFile(panel, file, key, row, state);
        row.dataset.result = "done";
        status.textContent += " — uploaded";
      } catch (error) {
        row.dataset.result = error instanceof Cancelled ? "cancelled" : "failed";
        status.textContent = error instanceof Cancelled ? "cancelled" : `failed: ${error.message}`;
        if (state.abort) { try { await state.abort(); } catch (ignored) { /* shown above */ } }
        state.abort = null;
      }
    }
    start.disabled = false; cancel.disabled = true; done.hidden = false;
    input.value = "";
    state = null;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("upload");
  if (panel) setUpUploads(panel);
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll("#objects-form input[name=key]")) {
        box.checked = all.checked;
      }
    });
  }
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", async () => {
      const field = document.getElementById(button.dataset.copy);
      field.select();
      try { await navigator.clipboard.writeText(field.value); }
      catch (error) { document.execCommand("copy"); }
      button.textContent = "Copied";
    });
  }
});
