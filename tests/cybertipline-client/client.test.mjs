// The public npm client `cybertipline-tools` (unchanged) completes a report against Safeguard.
//
// The client hard-codes NCMEC's hosts (https://exttest.cybertip.org/ispws for the test
// environment) and calls the global `fetch`. The harness redirects only where requests go:
// it wraps `globalThis.fetch` so that URLs under NCMEC's test base are sent to the local
// server given in SAFEGUARD_ISPWS_URL (plain HTTP on loopback). Nothing of the library is
// edited: the request bodies, headers and parsing are its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Environment, IncidentType } from 'cybertipline-tools';

const LOCAL = process.env.SAFEGUARD_ISPWS_URL;
const USER = process.env.SAFEGUARD_ISPWS_USER;
const PASSWORD = process.env.SAFEGUARD_ISPWS_PASSWORD;
const NCMEC_TEST = 'https://exttest.cybertip.org/ispws';

const realFetch = globalThis.fetch;
const seen = [];
globalThis.fetch = (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  assert.ok(url.startsWith(NCMEC_TEST), `unexpected destination ${url}`);
  seen.push(url.slice(NCMEC_TEST.length));
  return realFetch(LOCAL + url.slice(NCMEC_TEST.length), init);
};

test('the npm client completes a report: status, submit, upload, fileinfo, finish', async () => {
  assert.ok(LOCAL && USER && PASSWORD, 'SAFEGUARD_ISPWS_URL/USER/PASSWORD must be set');
  const client = new Client({
    environment: Environment.Testing,
    credentials: { username: USER, password: PASSWORD },
  });

  const status = await client.getStatus();
  assert.equal(Number(status.data.responseCode), 0);
  assert.match(status.data.responseDescription, new RegExp(`Remote User : ${USER}`));
  assert.notEqual(status.requestId, 'unknown', 'the Request-ID header is present');

  const report = await client.submitReport({
    incidentSummary: {
      incidentType: IncidentType.ChildPornography,
      incidentDateTime: new Date('2025-06-01T12:00:00Z'),
    },
    reporter: {
      reportingPerson: {
        firstName: 'Test',
        lastName: 'Reporter',
        email: [{ email: 'reporter@example.com' }],
      },
    },
  });
  const reportId = report.data.reportId;
  assert.ok(Number(reportId) > 0);

  // A synthetic file: a byte pattern (no real media).
  const bytes = new Uint8Array(64 * 1024).map((_, i) => (i * 31 + 7) & 0xff);
  const upload = await client.uploadFile({
    id: reportId,
    file: new File([bytes], 'synthetic.bin'),
  });
  assert.match(String(upload.data.fileId), /^[0-9a-f]{32}$/);
  const { createHash } = await import('node:crypto');
  assert.equal(upload.data.hash, createHash('md5').update(bytes).digest('hex'));

  const info = await client.submitFileDetails({
    reportId: Number(reportId),
    fileId: upload.data.fileId,
    originalFileName: 'synthetic.bin',
    fileViewedByEsp: true,
  });
  assert.equal(Number(info.data.responseCode), 0);

  const done = await client.finishReport({ id: reportId });
  assert.equal(Number(done.data.responseCode), 0);
  const files = [done.data.files?.fileId ?? []].flat().map(String);
  assert.deepEqual(files, [String(upload.data.fileId)]);

  // A finished report cannot be cancelled: the client surfaces Safeguard's 5102.
  await assert.rejects(client.cancelReport({ id: reportId }), /409|ReportAlreadyFinished|5102/);

  assert.deepEqual(seen, ['/status', '/submit', '/upload', '/fileinfo', '/finish', '/retract']);
});
