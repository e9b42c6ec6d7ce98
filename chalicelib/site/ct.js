/* ct.js: call tracking. <script async src="https://API/ct.js" data-site="KEY"></script>
 * Options: data-consent="required", data-ct-selector, data-ct-hide, data-api (or window.ctConfig
 * {site, consent, selector, hide, api}).
 * API: this script's src minus /ct.js. localStorage (memory if it throws): ct_vid, ct_s (session).
 * A session ends 30 min unseen or on new utm/click ids; a held lease is reused with no request.
 * Swap: digit runs in a block's text (inline elements joined) that are the original as CC+NSN,
 * trunk+NSN (8 for +7, 0, none for +1) or NSN get the new digits in place; tel: links E.164.
 * data-ct-selector: any number there (text, alt, title, value, aria-label); [data-ct-ignore]: none.
 * Renews while visible. fetch: 3 s abort. Never throws or logs. No lease under webdriver.
 * Consent: window.ctConsent = true, a ct:consent event or CallTracking.consent(). */
(() => {try {
const W = window, D = document, N = navigator, now = () => Date.now();
const guard = f => (...a) => {try {f(...a)?.catch?.(() => 0);} catch {}};
if (W.CallTracking) return;
const st = {status: 'idle'}, CT = W.CallTracking = {state: st, swap() {}, consent() {}};
const tag = D.currentScript || D.querySelector('script[data-site]'), cfg = W.ctConfig || {};
const at = n => tag?.getAttribute('data-' + n) ?? cfg[n.replace('ct-', '')];
const site = at('site');
if (!site) return;
const api = (at('api') || tag.src.replace(/\/ct\.js([?#].*)?$/, '')).replace(/\/$/, '');
const sels = at('ct-selector'), hide = at('ct-hide');
const get = k => {try {return JSON.parse(localStorage.getItem(k));} catch {return mem[k];}};
const put = (k, v) => {mem[k] = v; try {localStorage.setItem(k, JSON.stringify(v));} catch {}};
let s, vid, mo, cur, style, timer, started, begun;
const olds = new Set(), mem = {};

// Country code, national number, trunk prefix.
const P = e => {
  const d = e.slice(1), n = /^[17]/.test(d) ? 1 : /^(2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58])/.test(d) ? 2 : 3;
  const cc = d.slice(0, n);
  return {e, cc, nsn: d.slice(n), tr: cc === '7' ? '8' : cc === '1' ? '' : '0'};
};
const forms = f => [f.cc + f.nsn, f.tr && f.tr + f.nsn, f.nsn];
// Form k of f as that of t: digits or a text.
const conv = (k, f, t) => (f.cc !== t.cc ? (k ? t.e : t.cc + t.nsn) : [t.cc, t.tr, ''][k] + t.nsn);
const RUN = /\+?\d(?:[\s()/.\-\u2010-\u2013]*\d)*/g, SKIP = 'script,style,noscript,textarea,template,svg,select,[data-ct-ignore]';
const INLINE = /^(B|I|U|S|EM|STRONG|SPAN|SMALL|FONT|MARK|SUB|SUP|ABBR|CODE|TIME|LABEL|NOBR)$/;
const blockOf = n => {
  while (n && n.nodeType !== 1) n = n.parentNode;
  while (n && n.parentElement && INLINE.test(n.nodeName)) n = n.parentElement;
  return n;
};
// Text nodes by block (split numbers are one text).
const groups = root => {
  const out = [], tw = D.createTreeWalker(root, 5, {acceptNode: n => (n.matches?.(SKIP) ? 2 : 1)});
  let g;
  for (let n = root; n; n = tw.nextNode()) {
    if (n.nodeType === 1) {if (!INLINE.test(n.nodeName)) g = 0; continue;}
    const b = blockOf(n);
    if (!g || g.b !== b) out.push(g = {b, nodes: []});
    g.nodes.push(n);
  }
  return out;
};
// froms -> to in slots (with a nodeValue); any: all 7-15 digit runs.
const fix = (slots, froms, to, any) => {
  const vals = slots.map(x => x.nodeValue || ''), arrs = vals.map(v => v.split('')), text = vals.join('');
  const set = (p, c, i = 0) => {
    while (p >= vals[i].length) p -= vals[i++].length;
    arrs[i][p] = c;
  };
  for (const m of text.matchAll(RUN)) {
    const pos = [];
    [...m[0]].forEach((c, k) => /\d/.test(c) && pos.push(m.index + k));
    const ds = pos.map(p => text[p]).join(''), L = ds.length, gap = i => !i || i >= L || pos[i] - pos[i - 1] > 1;
    const write = (i, len, nd) => {
      if (nd.length === len && /^\d+$/.test(nd)) return [...nd].forEach((c, k) => set(pos[i + k], c));
      const plus = text[pos[i] - 1] === '+', a = pos[i] - plus;
      for (let p = a; p <= pos[i + len - 1]; p++) set(p, p > a ? '' : (plus && /^\d/.test(nd) ? '+' : '') + nd);
    };
    if (any) {
      const k = forms(to).findIndex((f, i) => f && f.length === L && (i > 1 || ds.startsWith(i ? to.tr : to.cc)));
      if (L > 6 && L < 16) write(0, L, k < 0 ? st.display || to.e : conv(k, to, to));
      continue;
    }
    for (let i = 0; i < L; i++) {
      if (gap(i)) hit: for (const f of froms) for (let k = 0; k < 3; k++) {
        const fm = forms(f)[k];
        if (fm && ds.startsWith(fm, i) && gap(i + fm.length)) {write(i, fm.length, conv(k, f, to)); i += fm.length - 1; break hit;}
      }
    }
  }
  slots.forEach((x, i) => {const v = arrs[i].join(''); if (v !== vals[i]) x.nodeValue = v;});
};
const tels = (root, froms, to, any) => [root, ...root.querySelectorAll('a')].forEach(a => {
  const h = (!a.closest(SKIP) && a.getAttribute('href')) || '';
  const d = /^tel:/i.test(h) && h.slice(4).replace(/%20|%2B|[\s()./+-]/gi, '');
  if (/^\d+$/.test(d) && (any || froms.some(f => forms(f).includes(d))) && h !== 'tel:' + to.e) a.href = 'tel:' + to.e;
});
const swapIn = root => {
  if (!cur || !root || root.closest(SKIP)) return;
  const to = P(cur), froms = [...olds].filter(x => x !== cur).map(P);
  if (!froms.length) return;
  groups(root).forEach(g => fix(g.nodes, froms, to));
  tels(root, froms, to);
  if (sels) D.querySelectorAll(sels).forEach(el => {
    groups(el).forEach(g => fix(g.nodes, froms, to, 1));
    [el, ...el.querySelectorAll('*')].forEach(x => ['alt', 'title', 'value', 'aria-label'].forEach(n => {
      const o = {nodeValue: x.getAttribute(n)};
      if (o.nodeValue) fix([o], froms, to, 1);
      if (o.nodeValue !== x.getAttribute(n)) x.setAttribute(n, o.nodeValue);
    }));
    tels(el, froms, to, 1);
  });
  mo?.takeRecords(); // our own writes
};
const full = () => swapIn(D.body);
const unhide = () => style?.remove();
const show = (n, o, d) => {
  olds.add(o);
  if (cur) olds.add(cur);
  Object.assign(st, {number: cur = n, display: d, original: o});
  if (!mo && n !== o) {
    mo = new MutationObserver(guard(recs => new Set(recs.map(r => blockOf(r.target))).forEach(x => x?.isConnected && swapIn(x))));
    mo.observe(D.documentElement, {childList: true, subtree: true, characterData: true, attributeFilter: ['href']});
  }
  full();
  unhide();
};
CT.swap = guard(full);

const q = new URLSearchParams(location.search), cookie = n => (D.cookie.match('(?:^|; )' + n + '=([^;]*)') || [])[1];
const pick = (keys, pre = '', o = {}) => {
  keys.forEach(k => {const v = q.get(pre + k); if (v) o[k] = v.slice(0, 200);});
  return o;
};
const utm = pick(['source', 'medium', 'campaign', 'term', 'content'], 'utm_'), clicks = pick(['gclid', 'yclid', 'fbclid', 'msclkid']);
const camp = JSON.stringify([utm, clicks]);
const source = () => {
  const r = D.referrer, ga = cookie('_ga'), ym = cookie('_ym_uid'), o = {utm, click_ids: clicks, client_ids: {}};
  if (ga) o.client_ids.ga = ga.replace(/^GA\d+\.\d+\./, '');
  if (ym) o.client_ids.ym = ym;
  if (/^https?:/.test(r) && new URL(r).host !== location.host) o.referrer = r.slice(0, 1000);
  return o;
};

const ask = async renew => {
  const b = {site_key: site, visitor_id: vid, user_agent: N.userAgent}, ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 3000);
  if (s) b.session_id = s.id;
  if (renew) Object.assign(b, {renew: true, number: s.n});
  else Object.assign(b, s ? s.src : source(), {page_url: location.href.slice(0, 1000)});
  try {
    const r = await fetch(api + '/v1/leases', {method: 'POST', body: JSON.stringify(b), keepalive: true, signal: ctl.signal});
    const j = r.ok && (await r.json());
    return /^\+\d+\+\d+$/.test(j.number + j.original) && j;
  } catch {} finally {clearTimeout(t);}
};
const plan = () => {
  clearTimeout(timer);
  if (D.visibilityState !== 'visible') return;
  if (!begun) return go();
  if (s) timer = setTimeout(guard(() => lease(now() < s.x - 2e3)), s.r - now());
};
const use = j => {
  put('ct_s', s);
  Object.assign(st, {session_id: s?.id, source: s && {...s.src, landing_page: s.l}});
  show(j.n || j.number, j.o || j.original, j.d || j.display);
};
const lease = async renew => {
  const j = await ask(renew), t = now();
  if (!j) {
    if (s) s.r = t + 3e4; // retry a failed renewal
    else st.status = 'failed';
  } else if (j.tracked && j.session_id) {
    const a = +j.renew_after_seconds || 60;
    s = {id: j.session_id, x: t + (+j.hold_seconds || 3 * a) * 1e3, r: t + a * 1e3, t, k: site, n: j.number, o: j.original,
      d: j.display, c: s ? s.c : camp, src: s ? s.src : source(), l: s ? s.l : location.href};
    st.status = 'tracked';
  } else {
    s = null;
    Object.assign(st, {status: 'untracked', reason: j.reason});
  }
  if (j) use(j);
  unhide();
  plan();
};
const go = () => {
  begun = 1;
  vid = get('ct_vid');
  if (!/^\w{8,64}$/.test(vid || '')) put('ct_vid', vid = now().toString(36) + Math.random().toString(36).slice(2));
  st.visitor_id = vid;
  s = get('ct_s');
  if (!s || s.k !== site || now() - s.t > 18e5 || (camp !== '[{},{}]' && s.c !== camp)) s = null;
  if (!s || s.x - 5e3 < now()) return (st.status = 'loading') && lease();
  s.t = now();
  st.status = 'tracked';
  use(s);
  plan();
};
const start = () => {
  if (started) return;
  started = 1;
  if (N.webdriver) return (st.status = 'automation');
  if (hide != null) {
    style = D.createElement('style');
    style.textContent = (hide || 'a[href^="tel:"]') + '{visibility:hidden!important}';
    D.head.append(style);
    setTimeout(unhide, 1000);
  }
  D.addEventListener('visibilitychange', guard(plan));
  if (D.readyState === 'loading') D.addEventListener('DOMContentLoaded', guard(full));
  return plan();
};
const on = (CT.consent = guard(start));
if (at('consent') !== 'required') return on();
st.status = 'waiting-consent';
let given = W.ctConsent;
try {Object.defineProperty(W, 'ctConsent', {get: () => given, set: v => (given = v) === true && on()});} catch {}
[W, D].forEach(x => x.addEventListener('ct:consent', on));
if (given === true) on();
} catch {}})();
