// The web page at `/`: pick a model, drop an image, see the top classes or the mask over the image.
// One self-contained document (inline CSS and script, nothing fetched but the model's endpoint), so it works
// on a machine with no internet. Server data reaches the DOM only through textContent and attributes.

export interface PageModel {
  name: string;
  task: 'classify' | 'segment';
}

export function renderPage(models: PageModel[]): string {
  const options = models
    .map((m) => `<option value="${escapeHtml(m.name)}" data-task="${escapeHtml(m.task)}">${escapeHtml(m.name)} (${m.task === 'segment' ? 'segmentation' : 'classification'})</option>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>caffe-tool serve</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>caffe-tool serve</h1>
${models.length ? '' : '<p class="error" data-testid="no-models">No models are being served.</p>'}
<label for="model">Model</label>
<select id="model" data-testid="model-select"${models.length ? '' : ' disabled'}>${options}</select>
<div id="drop" data-testid="drop-zone" tabindex="0">
  <p>Drop an image here, or <label for="file" class="pick">choose a file</label></p>
  <input id="file" data-testid="file-input" type="file" accept="image/*">
</div>
<p id="status" data-testid="status" aria-live="polite"></p>
<p id="error" data-testid="error" class="error" role="alert" hidden></p>
<section id="classify-result" data-testid="classify-result" hidden>
  <h2>Top classes</h2>
  <ol id="top" data-testid="top-list"></ol>
</section>
<section id="segment-result" data-testid="segment-result" hidden>
  <h2>Mask</h2>
  <label for="opacity">Mask opacity</label>
  <input id="opacity" data-testid="opacity" type="range" min="0" max="100" value="50">
  <div id="overlay">
    <img id="seg-image" data-testid="seg-image" alt="the image sent">
    <img id="seg-mask" data-testid="seg-mask" alt="the predicted mask">
  </div>
  <ul id="classes" data-testid="class-list"></ul>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f6f6f4;color:#222}
main{max-width:760px;margin:0 auto;padding:1.5em}
h1{font-size:1.4em}h2{font-size:1.1em}
select{font:inherit;margin:0 0 1em .5em}
#drop{border:2px dashed #999;border-radius:8px;padding:2em;text-align:center;background:#fff}
#drop.over{border-color:#2a6ed8;background:#eef4ff}
#drop input{display:block;margin:.5em auto 0}
.pick{color:#2a6ed8;text-decoration:underline;cursor:pointer}
.error{color:#b00020;font-weight:600}
#top{padding-left:1.5em}
#top li{margin:.35em 0}
.bar{height:8px;background:#2a6ed8;border-radius:4px;margin-top:2px}
.score{color:#555;margin-left:.5em;font-variant-numeric:tabular-nums}
#overlay{position:relative;width:100%;max-width:640px;margin:.75em 0}
#overlay img{display:block;width:100%;height:auto}
#opacity{vertical-align:middle}
#seg-mask{position:absolute;left:0;top:0;width:100%;height:100%;image-rendering:pixelated}
#classes{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 1em}
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em;border:1px solid #0003}
`;

const SCRIPT = `
(function () {
  var select = document.getElementById('model');
  var fileInput = document.getElementById('file');
  var drop = document.getElementById('drop');
  var statusEl = document.getElementById('status');
  var errorEl = document.getElementById('error');
  var classifyEl = document.getElementById('classify-result');
  var topEl = document.getElementById('top');
  var segmentEl = document.getElementById('segment-result');
  var segImage = document.getElementById('seg-image');
  var segMask = document.getElementById('seg-mask');
  var opacity = document.getElementById('opacity');
  var classesEl = document.getElementById('classes');
  var current = null;
  var seq = 0;
  var imageUrl = null;

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    statusEl.textContent = '';
  }
  function applyOpacity() { segMask.style.opacity = String(Number(opacity.value) / 100); }
  opacity.addEventListener('input', applyOpacity);
  applyOpacity();

  function showTop(body) {
    clear(topEl);
    var top = Array.isArray(body.top) ? body.top : [];
    var best = top.length ? Math.max.apply(null, top.map(function (t) { return Number(t.score) || 0; })) : 0;
    top.forEach(function (t) {
      var li = document.createElement('li');
      li.setAttribute('data-testid', 'top-item');
      li.setAttribute('data-index', String(t.index));
      var name = document.createElement('span');
      name.className = 'label';
      name.textContent = t.label != null && t.label !== '' ? String(t.label) : 'class ' + t.index;
      var score = document.createElement('span');
      score.className = 'score';
      score.textContent = (Number(t.score) * 100).toFixed(1) + '%';
      var bar = document.createElement('div');
      bar.className = 'bar';
      bar.style.width = (best > 0 ? Math.max(0, Math.min(1, Number(t.score) / best)) * 100 : 0) + '%';
      li.appendChild(name); li.appendChild(score); li.appendChild(bar);
      topEl.appendChild(li);
    });
    classifyEl.hidden = false;
  }

  // The PASCAL VOC palette the server draws masks in: class k's bits spread over r, g, b from the top bit down.
  function vocColour(k) {
    var r = 0, g = 0, b = 0;
    for (var bit = 7, c = k; c; bit--, c >>= 3) {
      r |= (c & 1) << bit; g |= ((c >> 1) & 1) << bit; b |= ((c >> 2) & 1) << bit;
    }
    return [r, g, b];
  }

  function showMask(body) {
    segImage.src = imageUrl;
    segMask.src = typeof body.mask === 'string' && body.mask.indexOf('data:image/png;base64,') === 0 ? body.mask : '';
    clear(classesEl);
    (Array.isArray(body.classes) ? body.classes : []).forEach(function (c, i) {
      var li = document.createElement('li');
      li.setAttribute('data-testid', 'class-item');
      var obj = c !== null && typeof c === 'object';
      var index = obj && Number.isInteger(c.index) ? c.index : i;
      var label = obj ? (c.label != null ? c.label : 'class ' + index) : c;
      var sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = 'rgb(' + vocColour(index).join(',') + ')';
      li.appendChild(sw);
      var text = String(label) + (obj && typeof c.share === 'number' ? ' ' + (c.share * 100).toFixed(1) + '%' : '');
      li.appendChild(document.createTextNode(text));
      classesEl.appendChild(li);
    });
    segmentEl.hidden = false;
  }

  function send(file) {
    if (!file || !select.value) return;
    current = file;
    var mine = ++seq;
    if (imageUrl) URL.revokeObjectURL(imageUrl);
    imageUrl = URL.createObjectURL(file);
    var name = select.value;
    var task = select.options[select.selectedIndex].getAttribute('data-task');
    errorEl.hidden = true;
    classifyEl.hidden = true;
    segmentEl.hidden = true;
    statusEl.textContent = 'Running ' + name + ' on ' + file.name + '\\u2026';
    var started = performance.now();
    fetch('/v2/models/' + encodeURIComponent(name) + '/classify', {
      method: 'POST',
      headers: { 'Content-Type': file.type || 'application/octet-stream' },
      body: file
    }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if (mine !== seq) return;
        if (!res.ok) {
          showError((body && body.error) ? String(body.error) : 'HTTP ' + res.status + ': ' + text.slice(0, 200));
          return;
        }
        if (!body) { showError('the server answered with something that is not JSON'); return; }
        if (task === 'segment' || typeof body.mask === 'string') showMask(body); else showTop(body);
        statusEl.textContent = name + ': ' + Math.round(performance.now() - started) + ' ms';
      });
    }).catch(function (e) {
      if (mine === seq) showError('request failed: ' + (e && e.message ? e.message : e));
    });
  }

  fileInput.addEventListener('change', function () { send(fileInput.files && fileInput.files[0]); });
  select.addEventListener('change', function () { if (current) send(current); });
  ['dragenter', 'dragover'].forEach(function (t) {
    drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (t) {
    drop.addEventListener(t, function () { drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    var f = e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files[0];
    if (f) send(f);
  });
})();
`;
