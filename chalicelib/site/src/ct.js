/* ct.js: the call-tracking site script (readable source).
 *
 * `make site` builds it with esbuild into chalicelib/site/ct.min.js, the file GET /ct.js serves;
 * edit this file, never the built one.
 *
 *   <script async src="https://API/ct.js" data-site="KEY"></script>
 *
 * It leases the visitor a number from the site's pool and shows it wherever the page shows the
 * pool's original number: text in the page's own format (split across inline elements too),
 * tel: links, extra targets, content added later.
 *
 * Options, as data- attributes of the tag (or window.ctConfig = {site, api, consent, selector,
 * hide, respectGpc, visitorDays}):
 *   data-site                the pool's site key (required)
 *   data-api                 the API's base URL (default: this script's URL without /ct.js)
 *   data-consent="required"  nothing is read, stored or sent until window.ctConsent = true, a
 *                            ct:consent event, or CallTracking.consent()
 *   data-respect-gpc         visitors whose browser sends Global Privacy Control or Do Not Track
 *                            are not tracked at all: no request, nothing stored (off by default;
 *                            the README explains the trade-off)
 *   data-visitor-days        how long a visitor id lives, 1 to 395 days (default 395: 13 months)
 *   data-ct-selector         extra targets: any phone number in them (text, alt, title, value,
 *                            aria-label) becomes ours
 *   data-ct-hide             anti-flicker: targets (default tel: links) hidden until the swap or 1 s
 *   data-ct-ignore           on any element: nothing inside it is swapped
 *
 * What it sends to POST /v1/leases: the site key, the visitor id, the user agent, the page as
 * origin + path + tracking parameters (utm_*, click ids), the referrer as origin + path (only
 * from another host), utm tags, click ids, and the _ga, _ga_<container> and _ym_uid analytics
 * ids. The server cuts URLs the same way whatever it is sent (chalicelib/core/privacy.py).
 * When it starts a new visit while the stored one's lease may still run, it also sends that
 * session and number as a hint (prev_*: keep it, move it to the new visit for a new campaign,
 * or replace it once ended), which saves the server a read; the server checks it, never trusts it.
 *
 * It never throws into the page, never writes to the console, and leases nothing in an
 * automated browser (navigator.webdriver). A slow (3 s), failing or refusing API leaves the
 * page's own number.
 */
(() => {
  // ------------------------------------------------------------------------------- settings

  const REQUEST_TIMEOUT_MS = 3000;
  const SESSION_IDLE_MS = 30 * 60 * 1000; // a visit ends after 30 minutes unseen
  const RETRY_RENEWAL_MS = 30 * 1000; // after a failed renewal, with the number still shown
  const RENEW_MARGIN_MS = 2000; // closer to its end, a lease is asked for again, not renewed
  const REUSE_MARGIN_MS = 5000; // a stored lease this close to its end is not reused without asking
  const HIDE_AT_MOST_MS = 1000; // anti-flicker: the page shows its own number after this
  const DAY_MS = 24 * 60 * 60 * 1000;
  // Visitor ids live 13 months at most (the usual limit for audience-measurement identifiers).
  const VISITOR_DAYS_MAX = 395;
  const TEXT_LIMIT = 200;
  const URL_LIMIT = 1000;

  const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'];
  const CLICK_ID_KEYS = ['gclid', 'gbraid', 'wbraid', 'yclid', 'fbclid', 'msclkid'];
  // The query parameters a page URL keeps; the server keeps the same (privacy/urls.py).
  const TRACKING_PARAMETER = /^(utm_[A-Za-z0-9_]+|gclid|gbraid|wbraid|yclid|fbclid|msclkid)$/;
  const NO_CAMPAIGN = '[{},{}]'; // the campaign of a page without utm tags or click ids

  // localStorage keys. ct_vid and ct_s are read by copies of the previous script still cached in
  // browsers, so their formats stay as they were (see sessionFromRecord).
  const VISITOR_KEY = 'ct_vid';
  const VISITOR_CREATED_KEY = 'ct_vid_at';
  const SESSION_KEY = 'ct_s';

  // DOM constants, named (esbuild inlines them).
  const ELEMENT_NODE = 1;
  const SHOW_ELEMENTS_AND_TEXT = 1 | 4; // NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT
  const FILTER_ACCEPT = 1;
  const FILTER_REJECT = 2; // the node and everything under it

  // ------------------------------------------------------------------------------- state

  const state = {status: 'idle'}; // CallTracking.state: what the page (and the tests) can read
  const CallTracking = {state, swap() {}, consent() {}};
  const memoryStorage = {}; // when localStorage throws (blocked storage, some private modes)
  const shownNumbers = new Set(); // every number the page has shown: any of them is replaced
  let siteKey;
  let apiBase;
  let extraTargets; // data-ct-selector
  let hideSelector; // data-ct-hide
  let hideStyle;
  let visitorId;
  let session = null; // the visit's session and its lease, as in sessionFromRecord
  let prev = null; // the hint for the next new-visit request: the dropped session, as the API names it
  let currentNumber; // the number shown now (E.164)
  let observer; // MutationObserver for content added later
  let renewalTimer;
  let started = false;
  let begun = false;
  // The campaign of this page load; set in main().
  let utm = {};
  let clickIds = {};
  let campaign;

  /** `fn`, made safe to call from the page's events: nothing it throws or rejects reaches the page. */
  const guard =
    (fn) =>
    (...args) => {
      try {
        const result = fn(...args);
        if (result && result.catch) result.catch(() => {});
      } catch (err) {
        // Silent by design: the page keeps its own number.
      }
    };

  // ------------------------------------------------------------------------------- options

  const scriptTag = document.currentScript || document.querySelector('script[data-site]');
  const config = window.ctConfig || {};

  /** An option: the tag's data-<attribute>, else window.ctConfig[key]. */
  function option(attribute, key) {
    const value = scriptTag && scriptTag.getAttribute('data-' + attribute);
    return value != null ? value : config[key];
  }

  /** A yes/no option: present (data-respect-gpc, or ="true") is yes; "false", "0", "no", "off" are no. */
  function isOn(value) {
    return value != null && value !== false && !/^(false|0|no|off)$/i.test(value);
  }

  function visitorDays() {
    const days = Math.round(Number(option('visitor-days', 'visitorDays')));
    return days > 0 ? Math.min(days, VISITOR_DAYS_MAX) : VISITOR_DAYS_MAX;
  }

  /** The visitor's browser asks not to be tracked: Global Privacy Control or Do Not Track. */
  function privacySignal() {
    return navigator.globalPrivacyControl === true || navigator.doNotTrack === '1';
  }

  // ------------------------------------------------------------------------------- storage

  function load(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch (err) {
      return memoryStorage[key];
    }
  }

  function save(key, value) {
    memoryStorage[key] = value;
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (err) {
      // memory only, for this page
    }
  }

  function forget(key) {
    delete memoryStorage[key];
    try {
      localStorage.removeItem(key);
    } catch (err) {
      // nothing was stored
    }
  }

  /** The visitor id: random and first-party, replaced when it is older than data-visitor-days. */
  function currentVisitorId() {
    const now = Date.now();
    let id = load(VISITOR_KEY);
    let created = load(VISITOR_CREATED_KEY);
    if (typeof id !== 'string' || !/^\w{8,64}$/.test(id)) id = null;
    // Ids made before ids expired have no creation time stored, but start with it in base 36.
    if (id && typeof created !== 'number') created = parseInt(id.slice(0, 8), 36);
    if (id && created <= now && now - created <= visitorDays() * DAY_MS) return id;
    id = now.toString(36) + Math.random().toString(36).slice(2);
    save(VISITOR_KEY, id);
    save(VISITOR_CREATED_KEY, now);
    forget(SESSION_KEY); // a new visitor starts a new session
    return id;
  }

  /**
   * The session record in localStorage, with readable names. The record keeps the short keys of
   * the previous script, which may still run on other pages of the site from a browser's cache:
   *   id  session id        k  site key          n, o, d  number, original, display
   *   x   lease ends (ms)   r  renew at (ms)     t  last seen (ms)
   *   c   campaign          src  visit source    l  landing page
   */
  function sessionFromRecord(record) {
    if (!record || typeof record.id !== 'string' || !/^\+\d+\+\d+$/.test(record.n + record.o)) return null;
    const source = record.src || {};
    return {
      id: record.id,
      siteKey: record.k,
      number: record.n,
      original: record.o,
      display: record.d,
      leaseEndsAt: record.x,
      renewAt: record.r,
      lastSeenAt: record.t,
      campaign: record.c,
      // Records stored by the previous script hold whole URLs: cut them as this one does.
      source: {...source, referrer: source.referrer && originAndPath(source.referrer)},
      landingPage: record.l && pageUrl(record.l),
    };
  }

  function sessionRecord(s) {
    return (
      s && {
        id: s.id,
        k: s.siteKey,
        n: s.number,
        o: s.original,
        d: s.display,
        x: s.leaseEndsAt,
        r: s.renewAt,
        t: s.lastSeenAt,
        c: s.campaign,
        src: s.source,
        l: s.landingPage,
      }
    );
  }

  // ------------------------------------------------------------------------------- what is sent

  /** Origin + path + only the tracking parameters: page URLs can hold reset tokens, e-mails, OAuth tokens. */
  function pageUrl(href) {
    try {
      const url = new URL(href);
      const kept = url.search
        .slice(1)
        .split('&')
        .filter((pair) => TRACKING_PARAMETER.test(pair.split('=')[0]));
      return (url.origin + url.pathname + (kept.length ? '?' + kept.join('&') : '')).slice(0, URL_LIMIT);
    } catch (err) {
      return undefined;
    }
  }

  /** Origin + path (no user:password@, query or fragment): where the visitor came from, no more. */
  function originAndPath(href) {
    try {
      const url = new URL(href);
      return (url.origin + url.pathname).slice(0, URL_LIMIT);
    } catch (err) {
      return undefined;
    }
  }

  function cookie(namePattern) {
    const match = document.cookie.match('(?:^|; )' + namePattern + '=([^;]*)');
    return match ? match[1] : undefined;
  }

  function fromQuery(keys, prefix) {
    const query = new URLSearchParams(location.search);
    const picked = {};
    for (const key of keys) {
      const value = query.get(prefix + key);
      if (value) picked[key] = value.slice(0, TEXT_LIMIT);
    }
    return picked;
  }

  /** The visit's source, sent with its first request and kept by its session. */
  function visitSource() {
    const source = {utm, click_ids: clickIds, client_ids: {}};
    const ga = cookie('_ga'); // GA1.1.<client id>
    const ga4 = cookie('_ga_[A-Za-z0-9]+'); // GS1.1.<session id>.… or GS2.1.s<session id>$…
    const gaSession = ga4 && /^GS\d+\.\d+\.s?(\d+)/.exec(ga4);
    const ym = cookie('_ym_uid');
    if (ga) source.client_ids.ga = ga.replace(/^GA\d+\.\d+\./, '');
    if (gaSession) source.client_ids.ga_session = gaSession[1];
    if (ym) source.client_ids.ym = ym;
    const referrer = document.referrer;
    if (/^https?:/.test(referrer) && new URL(referrer).host !== location.host) {
      source.referrer = originAndPath(referrer);
    }
    return source;
  }

  // ------------------------------------------------------------------------------- phone numbers

  /** An E.164 number's parts: country code, national significant number, trunk prefix. */
  function parseE164(e164) {
    const digits = e164.slice(1);
    // Country codes are 1 to 3 digits; these are the ITU's 1- and 2-digit ones.
    const ccLength = /^[17]/.test(digits)
      ? 1
      : /^(2[07]|3[0-469]|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58])/.test(digits)
        ? 2
        : 3;
    const countryCode = digits.slice(0, ccLength);
    // Dialled before a national number: 8 for +7, nothing in North America, 0 elsewhere.
    const trunk = countryCode === '7' ? '8' : countryCode === '1' ? '' : '0';
    return {e164, countryCode, national: digits.slice(ccLength), trunk};
  }

  // The ways a number's digits are written, by index in digitForms().
  const INTERNATIONAL = 0; // country code + national number
  const WITH_TRUNK = 1; // trunk prefix + national number ('' where there is no trunk prefix)
  const NATIONAL = 2;

  function digitForms(number) {
    return [number.countryCode + number.national, number.trunk && number.trunk + number.national, number.national];
  }

  /** What replaces `from` written in `form`: `to` in the same form, or +E.164 when the countries differ. */
  function rewrite(form, from, to) {
    if (from.countryCode !== to.countryCode) return form === INTERNATIONAL ? to.countryCode + to.national : to.e164;
    return [to.countryCode, to.trunk, ''][form] + to.national;
  }

  // A run of digits and the separators people write between them.
  const DIGIT_RUN = /\+?\d(?:[\s()/.\-\u2010-\u2013]*\d)*/g;
  // Never swapped inside these.
  const SKIP = 'script,style,noscript,textarea,template,svg,select,[data-ct-ignore]';
  // Text split across these is read as one text: "<b>(617)</b> 555-0123" is one number.
  const INLINE = /^(B|I|U|S|EM|STRONG|SPAN|SMALL|FONT|MARK|SUB|SUP|ABBR|CODE|TIME|LABEL|NOBR)$/;
  const TARGET_ATTRIBUTES = ['alt', 'title', 'value', 'aria-label'];

  /** The block a node's text belongs to: its nearest element that is not inline. */
  function blockOf(node) {
    while (node && node.nodeType !== ELEMENT_NODE) node = node.parentNode;
    while (node && node.parentElement && INLINE.test(node.nodeName)) node = node.parentElement;
    return node;
  }

  /** The text nodes under `root`, grouped by block, so a number split across inline elements is one text. */
  function textGroups(root) {
    const groups = [];
    const walker = document.createTreeWalker(root, SHOW_ELEMENTS_AND_TEXT, {
      acceptNode: (node) => (node.matches && node.matches(SKIP) ? FILTER_REJECT : FILTER_ACCEPT),
    });
    let group = null;
    for (let node = root; node; node = walker.nextNode()) {
      if (node.nodeType === ELEMENT_NODE) {
        if (!INLINE.test(node.nodeName)) group = null; // a block element ends the text before it
        continue;
      }
      const block = blockOf(node);
      if (!group || group.block !== block) groups.push((group = {block, nodes: []}));
      group.nodes.push(node);
    }
    return groups;
  }

  /** The first of `froms` written at digit `start`, in any form, ending where a number can end. */
  function numberAt(digits, start, froms, isBoundary) {
    for (const from of froms) {
      const forms = digitForms(from);
      for (let form = 0; form < forms.length; form++) {
        const written = forms[form];
        if (written && digits.startsWith(written, start) && isBoundary(start + written.length)) {
          return {from, form, length: written.length};
        }
      }
    }
    return null;
  }

  /**
   * Writes `to` over every number of `froms` in the text of `slots` (text nodes, or holders of an
   * attribute's value), read as one text. Where the digit counts match, digits are replaced one by
   * one, so the page's own separators and markup stay. With `anyNumber` every run of 7 to 15
   * digits is replaced (the owner's extra targets may show any number).
   */
  function replaceNumbers(slots, froms, to, anyNumber) {
    const values = slots.map((slot) => slot.nodeValue || '');
    const chars = values.map((value) => value.split(''));
    const text = values.join('');
    // Sets character `position` of the joined text, in whichever slot holds it.
    const setChar = (position, value) => {
      let slot = 0;
      while (position >= values[slot].length) position -= values[slot++].length;
      chars[slot][position] = value;
    };
    for (const run of text.matchAll(DIGIT_RUN)) {
      const positions = []; // where each digit of the run is in the text
      [...run[0]].forEach((char, offset) => /\d/.test(char) && positions.push(run.index + offset));
      const digits = positions.map((position) => text[position]).join('');
      const count = digits.length;
      // A number starts and ends at the run's ends or where separators stand between digits.
      const isBoundary = (i) => i === 0 || i >= count || positions[i] - positions[i - 1] > 1;
      const write = (start, length, replacement) => {
        if (replacement.length === length && /^\d+$/.test(replacement)) {
          [...replacement].forEach((digit, k) => setChar(positions[start + k], digit));
          return;
        }
        // Another shape: the whole span (with a '+' before it) becomes the replacement.
        const plus = text[positions[start] - 1] === '+';
        const first = positions[start] - (plus ? 1 : 0);
        for (let position = first; position <= positions[start + length - 1]; position++) {
          const keepPlus = plus && /^\d/.test(replacement) ? '+' : '';
          setChar(position, position > first ? '' : keepPlus + replacement);
        }
      };
      if (anyNumber) {
        if (count >= 7 && count <= 15) {
          const form = digitForms(to).findIndex(
            (written, i) =>
              written &&
              written.length === count &&
              (i === NATIONAL || digits.startsWith(i === WITH_TRUNK ? to.trunk : to.countryCode)),
          );
          write(0, count, form < 0 ? state.display || to.e164 : rewrite(form, to, to));
        }
        continue;
      }
      for (let i = 0; i < count; i++) {
        const found = isBoundary(i) && numberAt(digits, i, froms, isBoundary);
        if (found) {
          write(i, found.length, rewrite(found.form, found.from, to));
          i += found.length - 1;
        }
      }
    }
    slots.forEach((slot, i) => {
      const value = chars[i].join('');
      if (value !== values[i]) slot.nodeValue = value;
    });
  }

  /** Points tel: links in `root` that dial one of `froms` (any number, with `anyNumber`) at `to`. */
  function replaceTelLinks(root, froms, to, anyNumber) {
    for (const link of [root, ...root.querySelectorAll('a')]) {
      const href = (!link.closest(SKIP) && link.getAttribute('href')) || '';
      if (!/^tel:/i.test(href)) continue;
      const digits = href.slice(4).replace(/%20|%2B|[\s()./+-]/gi, '');
      const ours = anyNumber || froms.some((from) => digitForms(from).includes(digits));
      if (/^\d+$/.test(digits) && ours && href !== 'tel:' + to.e164) link.href = 'tel:' + to.e164;
    }
  }

  /** Shows the current number in `root` wherever it shows a number the page showed before. */
  function swapIn(root) {
    if (!currentNumber || !root || root.closest(SKIP)) return;
    const to = parseE164(currentNumber);
    const froms = [...shownNumbers].filter((number) => number !== currentNumber).map(parseE164);
    if (!froms.length) return;
    for (const group of textGroups(root)) replaceNumbers(group.nodes, froms, to);
    replaceTelLinks(root, froms, to);
    if (extraTargets) {
      for (const target of document.querySelectorAll(extraTargets)) {
        for (const group of textGroups(target)) replaceNumbers(group.nodes, froms, to, true);
        for (const element of [target, ...target.querySelectorAll('*')]) {
          for (const name of TARGET_ATTRIBUTES) {
            const holder = {nodeValue: element.getAttribute(name)};
            if (holder.nodeValue) replaceNumbers([holder], froms, to, true);
            if (holder.nodeValue !== element.getAttribute(name)) element.setAttribute(name, holder.nodeValue);
          }
        }
        replaceTelLinks(target, froms, to, true);
      }
    }
    if (observer) observer.takeRecords(); // our own changes: nothing to do for them
  }

  const swapPage = () => swapIn(document.body);
  const unhide = () => hideStyle && hideStyle.remove();

  /** Shows `number` instead of `original` (and numbers shown before), now and in content added later. */
  function show(number, original, display) {
    shownNumbers.add(original);
    if (currentNumber) shownNumbers.add(currentNumber);
    currentNumber = number;
    Object.assign(state, {number, display, original});
    if (!observer && number !== original) {
      observer = new MutationObserver(
        guard((records) => {
          const blocks = new Set(records.map((record) => blockOf(record.target)));
          for (const block of blocks) if (block && block.isConnected) swapIn(block);
        }),
      );
      const options = {childList: true, subtree: true, characterData: true, attributeFilter: ['href']};
      observer.observe(document.documentElement, options);
    }
    swapPage();
    unhide();
  }

  // ------------------------------------------------------------------------------- leases

  /** One request to the lease endpoint; the answer, or null when there is none worth using. */
  async function askForLease(renew) {
    const request = {site_key: siteKey, visitor_id: visitorId, user_agent: navigator.userAgent};
    if (session) request.session_id = session.id;
    if (renew) {
      Object.assign(request, {renew: true, number: session.number}); // the server renews it with one write
    } else {
      Object.assign(request, session ? session.source : visitSource(), {page_url: pageUrl(location.href)}, prev);
    }
    const abort = new AbortController();
    const timeout = setTimeout(() => abort.abort(), REQUEST_TIMEOUT_MS);
    try {
      // A string body is sent as text/plain: a CORS "simple" request, so no preflight.
      const response = await fetch(apiBase + '/v1/leases', {
        method: 'POST',
        body: JSON.stringify(request),
        keepalive: true,
        signal: abort.signal,
      });
      const answer = response.ok && (await response.json());
      return answer && /^\+\d+\+\d+$/.test(answer.number + answer.original) ? answer : null;
    } catch (err) {
      return null;
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Stores the session and shows `shown`'s number (an answer from the API, or the stored session). */
  function showSession(shown) {
    save(SESSION_KEY, sessionRecord(session));
    state.session_id = session ? session.id : undefined;
    state.source = session ? {...session.source, landing_page: session.landingPage} : undefined;
    show(shown.number, shown.original, shown.display);
  }

  async function lease(renew) {
    const answer = await askForLease(renew);
    prev = null;
    const now = Date.now();
    if (!answer) {
      if (session) session.renewAt = now + RETRY_RENEWAL_MS;
      else state.status = 'failed';
    } else if (answer.tracked && answer.session_id) {
      const renewAfter = Number(answer.renew_after_seconds) || 60;
      session = {
        id: answer.session_id,
        siteKey,
        number: answer.number,
        original: answer.original,
        display: answer.display,
        leaseEndsAt: now + (Number(answer.hold_seconds) || 3 * renewAfter) * 1000,
        renewAt: now + renewAfter * 1000,
        lastSeenAt: now,
        // A session keeps the campaign, source and landing page of its first page.
        campaign: session ? session.campaign : campaign,
        source: session ? session.source : visitSource(),
        landingPage: session ? session.landingPage : pageUrl(location.href),
      };
      state.status = 'tracked';
    } else {
      session = null;
      Object.assign(state, {status: 'untracked', reason: answer.reason});
    }
    if (answer) showSession(answer);
    unhide();
    return scheduleNext();
  }

  /** The next renewal, while the page is visible; hidden pages cost nothing. */
  function scheduleNext() {
    clearTimeout(renewalTimer);
    if (document.visibilityState !== 'visible') return undefined;
    if (!begun) return begin();
    if (session) {
      const renewal = () => lease(Date.now() < session.leaseEndsAt - RENEW_MARGIN_MS);
      renewalTimer = setTimeout(guard(renewal), session.renewAt - Date.now());
    }
    return undefined;
  }

  /** The first visible moment: reuse the stored lease if it is still held, else ask for one. */
  function begin() {
    begun = true;
    visitorId = currentVisitorId();
    state.visitor_id = visitorId;
    session = sessionFromRecord(load(SESSION_KEY));
    const now = Date.now();
    const newCampaign = campaign !== NO_CAMPAIGN && session && session.campaign !== campaign;
    if (!session || session.siteKey !== siteKey || now - session.lastSeenAt > SESSION_IDLE_MS || newCampaign) {
      if (session && session.siteKey === siteKey) {
        // A new visit of the same visitor: the lease the old one holds is kept, moved or replaced.
        // (The server's rule for a new campaign: any change of utm tags or click ids, none included.)
        const use = session.leaseEndsAt <= now ? 'ended' : session.campaign !== campaign ? 'move' : 'keep';
        prev = {prev_session_id: session.id, prev_number: session.number, prev_use: use};
      }
      session = null; // a new visit
    }
    if (!session || session.leaseEndsAt - REUSE_MARGIN_MS < now) {
      state.status = 'loading';
      return lease();
    }
    session.lastSeenAt = now; // the held lease is reused with no request
    state.status = 'tracked';
    showSession(session);
    return scheduleNext();
  }

  function start() {
    if (started) return undefined;
    started = true;
    if (navigator.webdriver) {
      state.status = 'automation'; // crawlers and test robots are not visitors
      return undefined;
    }
    if (hideSelector != null) {
      hideStyle = document.createElement('style');
      hideStyle.textContent = (hideSelector || 'a[href^="tel:"]') + '{visibility:hidden!important}';
      document.head.append(hideStyle);
      setTimeout(unhide, HIDE_AT_MOST_MS);
    }
    document.addEventListener('visibilitychange', guard(scheduleNext));
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', guard(swapPage));
    return scheduleNext();
  }

  function main() {
    if (window.CallTracking) return undefined; // loaded twice: the first copy does the work
    window.CallTracking = CallTracking;
    siteKey = option('site', 'site');
    if (!siteKey) return undefined;
    const src = (scriptTag && scriptTag.src) || '';
    apiBase = (option('api', 'api') || src.replace(/\/ct(\.min)?\.js([?#].*)?$/, '')).replace(/\/$/, '');
    if (!apiBase) return undefined;
    if (isOn(option('respect-gpc', 'respectGpc')) && privacySignal()) {
      // The owner honours these signals: no request, nothing stored, and what an earlier visit
      // stored is forgotten. The page keeps its own number.
      [VISITOR_KEY, VISITOR_CREATED_KEY, SESSION_KEY].forEach(forget);
      state.status = 'opted-out';
      return undefined;
    }
    extraTargets = option('ct-selector', 'selector');
    hideSelector = option('ct-hide', 'hide');
    utm = fromQuery(UTM_KEYS, 'utm_');
    clickIds = fromQuery(CLICK_ID_KEYS, '');
    campaign = JSON.stringify([utm, clickIds]); // a new campaign on any page starts a new session
    CallTracking.swap = guard(swapPage);

    const consent = (CallTracking.consent = guard(start));
    if (option('consent', 'consent') !== 'required') return consent();
    state.status = 'waiting-consent';
    let given = window.ctConsent;
    try {
      Object.defineProperty(window, 'ctConsent', {
        get: () => given,
        set: (value) => {
          given = value;
          if (value === true) consent();
        },
      });
    } catch (err) {
      // someone else owns ctConsent: the event and CallTracking.consent() still work
    }
    window.addEventListener('ct:consent', consent);
    document.addEventListener('ct:consent', consent);
    if (given === true) consent();
    return undefined;
  }

  guard(main)();
})();
