// node-soap writes members in the caller's key order, not the schema's: calls of both dialects
// with every member given in another order than the WSDL's xs:sequence.
// Usage: node tests/compat/member_order.js backclick WSDL_URL EMAIL [keyorder]
//        node tests/compat/member_order.js copernica BASE_URL TOKEN DATABASE_NAME
// Prints one JSON object: what each call answered, and the request node-soap sent
// (client.lastRequest), so tests/test_wire_tolerance.py can check the order on the wire.
// node-soap writes rpc/literal parts (Copernica) in key order; document/literal members
// (BACKCLICK) it sorts by the schema since its 1.x releases. "keyorder" turns that sorting off,
// so the members travel in key order as they did from older releases and public clients.
'use strict';
const soap = require('soap');

/** Make node-soap write document/literal members in the caller's key order. */
function keyOrder() {
  soap.WSDL.prototype._orderElementKeys = function orderAsGiven(obj) {
    const special = [this.options.attributesKey, this.options.xmlKey, this.options.valueKey];
    return Object.keys(obj).filter((k) => !special.includes(k));
  };
}

/** The members of a wrapped array ({item: [...]}, {item: {...}} or absent). */
function items(wrapper, name = 'item') {
  if (!wrapper || wrapper[name] === undefined || wrapper[name] === null) return [];
  return Array.isArray(wrapper[name]) ? wrapper[name] : [wrapper[name]];
}

async function backclick(wsdl, email, mode) {
  if (mode === 'keyorder') keyOrder();
  const client = await soap.createClientAsync(wsdl);
  const out = { sent: {} };
  // saveOrCreateSubscriber: every level reversed, fields as {value, name}
  const [saved] = await client.saveOrCreateSubscriberAsync({
    subscribers: {
      item: [{
        subscriberFields: { item: [{ value: 'Jörg', name: 'FIRSTNAME' }, { value: 'Köln', name: 'CITY' }] },
        newsletterListIds: { item: [1, 2] },
        subscriberEmail: email,
      }],
    },
    listsAdditive: false,
    apiKey: 'shop-key-1234',
    mandatorId: 1,
  });
  out.sent.save = client.lastRequest;
  out.save = saved.responseCode;
  // getSubscribers: addresses first, the mandator last
  const [found] = await client.getSubscribersAsync({
    emailAddresses: { item: [email] }, fillSubscriberFields: true, apiKey: 'shop-key-1234',
    mandatorId: 1,
  });
  out.sent.get = client.lastRequest;
  out.subscribers = items(found.subscribers).map((s) => ({
    subscriberEmail: s.subscriberEmail, status: s.status, newsletterListIds: s.newsletterListIds,
    fields: Object.fromEntries(items(s.subscriberFields).map((f) => [f.name, f.value])),
  }));
  // a nested struct: the recipient before the channel, its members reversed
  const [channel] = await client.createTransactionChannelAsync({
    channelName: 'Order channel', apiKey: 'shop-key-1234', mandatorId: 1,
  });
  out.sent.channel = client.lastRequest;
  const [mail] = await client.sendTransactionMailAsync({
    recipient: { subscriberFields: { item: [{ value: 'Jörg', name: 'FIRSTNAME' }] }, emailAddress: email },
    mailContent: 'Dear $$FIRSTNAME$$, thank you.',
    subject: 'Order for $$FIRSTNAME$$',
    senderEmail: 'orders@shop.example',
    channelId: channel.channelId,
    apiKey: 'shop-key-1234',
    mandatorId: 1,
  });
  out.sent.mail = client.lastRequest;
  out.channelId = channel.channelId;
  out.transactionId = mail.transactionId;
  return out;
}

async function copernica(base, token, database) {
  const client = await soap.createClientAsync(`${base}?SOAPAPI=WSDL`);
  const out = { sent: {} };
  const call = async (key, method, parameters) => {
    const [answer] = await client[`${method}Async`]({ parameters });
    out.sent[key] = client.lastRequest;
    return answer.result;
  };
  // login-style struct in the public client's order {username, account, password}
  out.login = (await call('login', 'login',
    { username: 'api@shop.example', account: 'Shop', password: 's3cret' })).value;
  const db = await call('database', 'Account_createDatabase', { access_token: token, name: database });
  const id = db.database.id;
  await call('field', 'Database_createField', { type: 'text', name: 'City', access_token: token, id });
  // a map of pairs as {value, key}
  const created = await call('profile', 'Database_createProfile', {
    fields: { pair: [{ value: 'Utrecht', key: 'City' }] }, access_token: token, id,
  });
  out.profile = Number(created.profile.id);
  // a collection read as {allproperties, requirements, id}, requirements in the vendor's
  // order {fieldname, casesensitive, operator, value}
  const found = await call('search', 'Database_searchProfiles', {
    allproperties: true,
    requirements: { requirement: [{ fieldname: 'City', casesensitive: false, operator: '=', value: 'utrecht' }] },
    id,
    access_token: token,
  });
  out.total = Number(found.total);
  out.found = items(found.items, 'profile').map((p) => Number(p.id));
  return out;
}

async function main() {
  const [dialect, ...args] = process.argv.slice(2);
  const modes = { backclick, copernica };
  if (!modes[dialect]) {
    process.stderr.write('usage: node member_order.js backclick WSDL_URL EMAIL\n' +
                         '       node member_order.js copernica BASE_URL TOKEN DATABASE\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(await modes[dialect](...args), null, 2) + '\n');
}

main().catch((err) => {
  const fault = err && err.root && err.root.Envelope && err.root.Envelope.Body &&
    err.root.Envelope.Body.Fault;
  process.stderr.write(fault ? JSON.stringify(fault) : ((err && err.stack) || String(err)));
  process.stderr.write('\n');
  process.exit(1);
});
