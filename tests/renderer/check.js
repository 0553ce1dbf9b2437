// Loads exported FHIR R4 Questionnaires in LHC-Forms (npm `lforms`), the
// NLM's standard renderer, under jsdom, and checks that each one
//   1. converts (LHC-Forms rejects, for example, a unit on a group),
//   2. renders with no error or warning on the console,
//   3. shows every item that has no enableWhen, hides every item whose
//      enableWhen needs an answer, and draws the unit of every numeric item,
//   4. applies the skip logic of a few scenarios the way jkda does, and gives
//      the scenario's answers back in its QuestionnaireResponse.
// Usage: node check.js Q.json...   (run.sh exports the shipped forms first)
'use strict';
const { JSDOM, VirtualConsole } = require('jsdom');
const fs = require('fs');
const path = require('path');

const UNIT_EXT = 'http://hl7.org/fhir/StructureDefinition/questionnaire-unit';
const lib = (...p) => fs.readFileSync(path.join(__dirname, 'node_modules', ...p), 'utf8');
const scripts = [
  lib('zone.js', 'bundles', 'zone.umd.js'),
  lib('lforms', 'dist', 'lforms', 'webcomponent', 'lhc-forms.js'),
  lib('lforms', 'dist', 'lforms', 'fhir', 'lformsFHIRAll.min.js'),
];

// Answers by linkId; a number is a decimal or integer as the item says, a
// string a code for a choice item and text otherwise, an array several codes.
// show/hide: linkIds LHC-Forms must (not) render with these answers.
const SCENARIOS = {
  'health-exam': [
    { answers: { drinking_frequency: '2', alcohol_quit: '2' },
      show: ['alcohol_quit', 'alcohol_quit_age', 'alcohol_daily_liang'], hide: ['smoking_daily'] },
    { answers: { drinking_frequency: '1' }, hide: ['alcohol_quit', 'alcohol_quit_age', 'alcohol_types'] },
    { answers: { occupational_exposure: '2', dust_agent: '煤尘' },
      show: ['occupation_job', 'dust_protection'], hide: ['radiation_protection'] },
    { answers: { smoking_status: '2' }, show: ['smoking_daily', 'smoking_quit_age'] },
    { answers: { smoking_status: '3' }, show: ['smoking_daily'], hide: ['smoking_quit_age'] },
    { answers: { fbg: 6.1 }, show: ['fbg_unit'] },
    // One code per repeating choice: LHC-Forms 40.1.3, loading a response
    // with several answers to one, applies skip logic to the last answer
    // only (R4: "at least one answer"), though it keeps them all.
    { answers: { health_evaluation: '2', risk_control: ['5'] },
      show: ['abnormality_1', 'weight_loss_target'], hide: ['vaccine_advice', 'risk_control.detail'] },
    { answers: { risk_control: ['7'] }, show: ['risk_control.detail'], hide: ['weight_loss_target'] },
  ],
  'hypertension-followup': [
    { answers: {}, show: ['danger_signs', 'symptoms'], hide: ['death_date', 'danger_signs.detail'] },
    { answers: { danger_signs: ['9'] }, show: ['danger_signs.detail'] },
    { answers: { danger_signs: ['2'] }, hide: ['danger_signs.detail'] },
    { answers: { visit_status: '3' }, show: ['death_date', 'visit_status.detail'] },
    { answers: { referred: '2' }, show: ['referral_reason', 'referral_org'] },
  ],
  'diabetes-followup': [
    { answers: { hba1c: 6.8 }, show: ['hba1c_date'] },
    { answers: {}, show: ['danger_signs'], hide: ['hba1c_date', 'dorsalis_pedis_side'] },
    { answers: { danger_signs: ['12'] }, show: ['danger_signs.detail'] },
    { answers: { dorsalis_pedis: '3' }, show: ['dorsalis_pedis_side'] },
    { answers: { insulin_type: '甘精胰岛素' }, show: ['insulin_usage'] },
  ],
  'resident-basic-info': [
    { answers: { record_status: '4' }, show: ['status_date', 'status_reason', 'moved_to'] },
    { answers: { record_status: '2' }, show: ['status_date'], hide: ['moved_to'] },
  ],
};

function walk(items, parent, out) {
  for (const it of items || []) {
    out.set(it.linkId, { item: it, parent });
    walk(it.item, it.linkId, out);
  }
  return out;
}

function answerFor(q, item, v) {
  const system = `${q.url}/CodeSystem/${item.linkId.split('.')[0]}`;
  const one = x => {
    if (item.type === 'choice') return { valueCoding: { system, code: x } };
    if (item.type === 'integer') return { valueInteger: x };
    if (item.type === 'decimal') return { valueDecimal: x };
    if (item.type === 'date') return { valueDate: x };
    return { valueString: x };
  };
  return (Array.isArray(v) ? v : [v]).map(one);
}

// A QuestionnaireResponse holding `answers`, nested as the Questionnaire is.
function response(q, byLink, answers) {
  const root = { resourceType: 'QuestionnaireResponse', status: 'in-progress', item: [] };
  const nodes = new Map();
  const node = link => {
    if (nodes.has(link)) return nodes.get(link);
    const n = { linkId: link };
    nodes.set(link, n);
    const parent = byLink.get(link).parent;
    const list = parent ? (node(parent).item = node(parent).item || []) : root.item;
    list.push(n);
    return n;
  };
  for (const [link, v] of Object.entries(answers)) {
    const entry = byLink.get(link);
    if (!entry) throw new Error(`scenario answers unknown linkId ${link}`);
    if (entry.parent && byLink.get(entry.parent).item.type !== 'group') {
      throw new Error(`scenario answers ${link}, which sits under a question`);
    }
    node(link).answer = answerFor(q, entry.item, v);
  }
  return root;
}

async function render(q, qr) {
  const problems = [];
  const vc = new VirtualConsole();
  vc.on('jsdomError', e => problems.push(`jsdom: ${String(e.message).slice(0, 300)}`));
  for (const level of ['error', 'warn']) {
    vc.on(level, (...a) => problems.push(`console.${level}: ${a.map(String).join(' ').slice(0, 300)}`));
  }
  const dom = new JSDOM('<!doctype html><html><body><div id="form"></div></body></html>', {
    runScripts: 'outside-only', pretendToBeVisual: true, virtualConsole: vc, url: 'http://localhost/',
  });
  const w = dom.window;
  for (const s of scripts) w.eval(s);
  const options = { fhirVersion: 'R4' };
  if (qr) options.questionnaireResponse = qr;
  await w.LForms.Util.addFormToPage(q, 'form', options);
  const el = w.document.getElementById('form');
  const ids = [...el.querySelectorAll('[id]')].map(e => e.id);
  const shown = new Set(ids.filter(i => i.startsWith('item-')).map(i => i.slice(5).split('/')[0]));
  const units = new Set(ids.filter(i => i.startsWith('unit_')).map(i => i.slice(5).split('/')[0]));
  const back = w.LForms.Util.getFormFHIRData('QuestionnaireResponse', 'R4', el);
  w.close();
  return { shown, units, back, problems };
}

function answeredLinks(qr, out = new Set()) {
  for (const it of qr.item || []) {
    if (it.answer && it.answer.length) out.add(it.linkId);
    answeredLinks(it, out);
    for (const a of it.answer || []) answeredLinks(a, out);
  }
  return out;
}

async function check(file) {
  const q = JSON.parse(fs.readFileSync(file, 'utf8'));
  const fail = [];
  const byLink = walk(q.item, null, new Map());
  const lforms = (() => {
    const dom = new JSDOM('', { runScripts: 'outside-only' });
    for (const s of scripts) dom.window.eval(s);
    return dom.window.LForms;
  })();
  try {
    lforms.Util.convertFHIRQuestionnaireToLForms(q, 'R4');
  } catch (e) {
    return [`does not convert: ${e.message}`];
  }

  const empty = await render(q, null);
  fail.push(...empty.problems);
  const gated = link => {
    for (let l = link; l; l = byLink.get(l).parent) if (byLink.get(l).item.enableWhen) return true;
    return false;
  };
  for (const [link, { item }] of byLink) {
    if (!gated(link) && !empty.shown.has(link)) fail.push(`${link} is not rendered`);
    const needsAnswer = (item.enableWhen || []).every(c => c.operator === '=' || (c.operator === 'exists' && c.answerBoolean === true));
    if (item.enableWhen && needsAnswer && empty.shown.has(link)) fail.push(`${link} is rendered though nothing is answered`);
    const unit = (item.extension || []).some(x => x.url === UNIT_EXT);
    if (unit && empty.shown.has(link) && !empty.units.has(link)) fail.push(`${link}: its unit is not drawn`);
  }

  for (const [n, s] of (SCENARIOS[q.id] || []).entries()) {
    const got = await render(q, response(q, byLink, s.answers));
    const tag = `scenario ${n + 1} ${JSON.stringify(s.answers)}`;
    fail.push(...got.problems.map(p => `${tag}: ${p}`));
    for (const l of s.show || []) if (!got.shown.has(l)) fail.push(`${tag}: ${l} should be shown`);
    for (const l of s.hide || []) if (got.shown.has(l)) fail.push(`${tag}: ${l} should be hidden`);
    const back = answeredLinks(got.back);
    for (const l of Object.keys(s.answers)) {
      const hidden = (s.hide || []).includes(l);
      if (!hidden && got.shown.has(l) && !back.has(l)) fail.push(`${tag}: the answer to ${l} did not come back`);
    }
  }
  return fail;
}

(async () => {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error('usage: node check.js QUESTIONNAIRE.json...');
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  for (const f of files) {
    const problems = await check(f);
    const name = path.basename(f);
    if (problems.length) {
      failed++;
      console.log(`FAIL ${name}`);
      for (const p of problems) console.log(`  ${p}`);
    } else {
      passed++;
      console.log(`ok   ${name}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch(e => {
  console.error(e);
  process.exit(2);
});
