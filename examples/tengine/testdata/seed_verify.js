// The seed's verification function, verbatim (tengine-webhooks.txt,
// "Signature Verification"), run against a delivered request: argv[2] is
// a file holding the raw body, argv[3] the X-Tengine-Signature header and
// argv[4] the secret. It checks the seed's two handler styles: the raw
// body (express.raw) and JSON.stringify of the parsed body (express.json).
const crypto = require('crypto');

function verifyWebhookSignature(payload, signature, secret) {
  const expectedSignature = crypto
    .createHmac('sha256', secret)
    .update(payload, 'utf8')
    .digest('hex');
  
  return signature === `sha256=${expectedSignature}`;
}

const fs = require('fs');
const raw = fs.readFileSync(process.argv[2]);
const signature = process.argv[3];
const secret = process.argv[4];
const rawOK = verifyWebhookSignature(raw, signature, secret);
const stringifiedOK = verifyWebhookSignature(JSON.stringify(JSON.parse(raw)), signature, secret);
const tamperedOK = verifyWebhookSignature(Buffer.concat([raw, Buffer.from(' ')]), signature, secret);
console.log(JSON.stringify({ raw: rawOK, stringified: stringifiedOK, tampered: tamperedOK }));
