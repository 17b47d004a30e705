// BACKCLICK SOAP API v2 round trip with node-soap (the `soap` package).
// Usage: node tests/compat/roundtrip.js WSDL_URL roundtrip|fault|send EMAIL
//        node tests/compat/roundtrip.js WSDL_URL stats NEWSLETTER_ID
// require('soap') resolves to the project's node_modules (or NODE_PATH). Prints one JSON object;
// tests/compat/test_node_soap.py asserts on it. "roundtrip": save, read, relation, unsubscribe,
// relation. "fault": a wrong API key. "send": a newsletter to list 1, a transaction channel, a
// transaction mail to EMAIL with a binary attachment. "stats": NewsletterStatistic and
// BackclickStatistic of a newsletter.
'use strict';
const soap = require('soap');

const API_KEY = 'shop-key-1234';

/** The members of a wrapped array ({item: [...]}, {item: {...}} or absent). */
function items(wrapper) {
  if (!wrapper || wrapper.item === undefined || wrapper.item === null) return [];
  return Array.isArray(wrapper.item) ? wrapper.item : [wrapper.item];
}

/** A list relation as plain data. */
async function relation(client, email) {
  const [result] = await client.getSubscriberToNewsletterListRelationAsync({
    mandatorId: 1, apiKey: API_KEY, newsletterListId: 0, subscriberEmail: email,
  });
  return {
    subscriberAvailable: result.subscriberAvailable,
    lists: items(result.listInformations).map((info) => ({
      listId: info.listId, listName: info.listName,
      listDescription: info.listDescription, listStatus: info.listStatus,
    })),
  };
}

/** The SOAP fault a call failed with: {faultcode, faultstring}. */
function faultOf(err) {
  const fault = err && err.root && err.root.Envelope && err.root.Envelope.Body &&
    err.root.Envelope.Body.Fault;
  if (!fault) throw err;
  return { faultcode: fault.faultcode, faultstring: fault.faultstring, message: err.message };
}

/** saveOrCreateSubscriber of one subscriber on lists 1 and 2, with three fields. */
async function save(client, email, apiKey) {
  const [saved] = await client.saveOrCreateSubscriberAsync({
    mandatorId: 1,
    apiKey,
    listsAdditive: false,
    subscribers: {
      item: [{
        subscriberEmail: email,
        newsletterListIds: { item: [1, 2] },
        subscriberFields: {
          item: [
            { name: 'FIRSTNAME', value: 'Jörg' },
            { name: 'LASTNAME', value: "O'Brien & Söhne" },
            { name: 'CITY', value: 'Köln' },
          ],
        },
      }],
    },
  });
  return saved;
}

/** The whole round trip, as plain data. */
async function roundtrip(client, email) {
  const out = {};
  const saved = await save(client, email, API_KEY);
  out.save = {
    responseCode: saved.responseCode,
    invalid: items(saved.invalidEmailAddresses),
    blocked: items(saved.blockedEmailAddresses),
  };

  const [result] = await client.getSubscribersAsync({
    mandatorId: 1, apiKey: API_KEY, fillSubscriberFields: true, emailAddresses: { item: [email] },
  });
  out.subscribers = items(result.subscribers).map((found) => ({
    subscriberEmail: found.subscriberEmail,
    status: found.status,
    mandatorId: found.mandatorId,
    newsletterListIds: found.newsletterListIds,
    fields: Object.fromEntries(items(found.subscriberFields).map((f) => [f.name, f.value])),
  }));

  out.relationBefore = await relation(client, email);

  const [unsubscribed] = await client.unsubscribeSubscriberAsync({
    mandatorId: 1, apiKey: API_KEY, subscriberEmail: email, newsletterListIds: { item: [2] },
  });
  out.unsubscribe = unsubscribed.responseCode;

  out.relationAfter = await relation(client, email);
  return out;
}

/** A call with a wrong API key: the SOAP fault as plain data (null if the call succeeded). */
async function fault(client, email) {
  try {
    await save(client, email, 'wrong-key');
    return null;
  } catch (err) {
    return faultOf(err);
  }
}

/** The attachment's bytes: a PDF header and every byte value 0..255. */
function attachmentBytes() {
  return Buffer.concat([Buffer.from('%PDF-1.4\n', 'latin1'),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
}

/** sendNewsletterToList to list 1, createTransactionChannel, sendTransactionMail: the ids. */
async function send(client, email) {
  const [newsletter] = await client.sendNewsletterToListAsync({
    mandatorId: 1,
    apiKey: API_KEY,
    newsletterListId: 1,
    subject: 'Node news for $$FIRSTNAME$$',
    newsletterContent: '<p>Hello $$FIRSTNAME$$, <a href="https://shop.example/node">see the offer</a></p>',
    alternativeContent: 'Hello $$FIRSTNAME$$, see https://shop.example/node',
    senderName: 'Shop',
    senderEmail: 'news@shop.example',
  });
  const [channel] = await client.createTransactionChannelAsync({
    mandatorId: 1, apiKey: API_KEY, channelName: 'Node orders',
    channelDescription: 'Invoices sent by the node client',
  });
  const [mail] = await client.sendTransactionMailAsync({
    mandatorId: 1,
    apiKey: API_KEY,
    channelId: channel.channelId,
    subject: 'Invoice for $$FIRSTNAME$$',
    senderEmail: 'orders@shop.example',
    senderName: 'Shop Orders',
    mailContent: '<p>Dear $$FIRSTNAME$$, your invoice is attached.</p>',
    alternativeMailContent: 'Dear $$FIRSTNAME$$, your invoice is attached.',
    recipient: {
      emailAddress: email,
      subscriberFields: { item: [{ name: 'FIRSTNAME', value: 'Jörg' }] },
    },
    // node-soap sends a string as it is: base64Binary wants the base64 text
    attachments: { item: [{ name: 'node-invoice.pdf', data: attachmentBytes().toString('base64') }] },
  });
  return {
    newsletterId: newsletter.newsletterId,
    channelId: channel.channelId,
    transactionId: mail.transactionId,
  };
}

/** A statistics row with dateTime members as ISO text (node-soap may parse them to Date). */
function plain(row) {
  return Object.fromEntries(Object.entries(row).map(
    ([key, value]) => [key, value instanceof Date ? value.toISOString() : value]));
}

/** NewsletterStatistic and BackclickStatistic of one newsletter, every member as plain data. */
async function stats(client, newsletterId) {
  const request = { mandatorId: 1, apiKey: API_KEY, newsletterIds: { item: [Number(newsletterId)] } };
  const [newsletter] = await client.NewsletterStatisticAsync(request);
  const [backclick] = await client.BackclickStatisticAsync(request);
  return {
    newsletter: items(newsletter && newsletter.newsletterStatistics).map(plain),
    backclick: items(backclick && backclick.backclickStatistic).map(plain),
  };
}

async function main() {
  const [wsdl, mode, email] = process.argv.slice(2);
  const modes = { roundtrip, fault, send, stats };
  if (!email || !modes[mode]) {
    process.stderr.write('usage: node roundtrip.js WSDL_URL roundtrip|fault|send EMAIL\n' +
                         '       node roundtrip.js WSDL_URL stats NEWSLETTER_ID\n');
    process.exit(2);
  }
  const client = await soap.createClientAsync(wsdl);
  const out = await modes[mode](client, email);
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write((err && err.stack) || String(err));
  process.stderr.write('\n');
  process.exit(1);
});
