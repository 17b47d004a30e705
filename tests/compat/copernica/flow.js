// The catalogue flow through node-soap (the `soap` package) on the WSDL that
// tests/compat/copernica_wsdl.py writes from the catalogue (the vendor's namespace), with the
// endpoint pointed at the mock. node-soap writes an rpc/literal part's members unqualified and
// in the caller's key order, so this client, like a public one, gives them in orders the schema
// does not: login as {username, account, password}, collection reads as
// {allproperties, requirements, id}, requirements as {value, operator, fieldname, ...}, a map
// as {value, key}. It keeps the session as public clients do: the soap_ cookies of the login
// answer, sent back on every later call.
// Usage: node tests/compat/copernica/flow.js WSDL_FILE ENDPOINT flow EMAIL PRODUCT
//        node tests/compat/copernica/flow.js WSDL_FILE ENDPOINT remove PROFILE_ID EMAIL
// Prints one JSON object in the shape of the Java and C# clients' (Main.java, Main.cs); on an
// error, {"failed": STEP, "error": ...} and exits 2.
'use strict';
const soap = require('soap');

const USER = 'api@shop.example';
const PASSWORD = 's3cret';
let step = 'start';

const list = (value) => (value === undefined || value === null ? [] : [].concat(value));
const num = (value) => (value === undefined || value === null ? null : Number(value));

/** One call: {parameters} in, the Result out. */
async function call(client, method, parameters) {
  const [answer] = await client[`${method}Async`]({ parameters });
  return (answer && answer.result) || {};
}

/** Keep the soap_ cookies of the last answer and send them on every later call. */
function keepSession(client) {
  const cookies = list(client.lastResponseHeaders && client.lastResponseHeaders['set-cookie'])
    .map((header) => header.split(';')[0].trim())
    .filter((cookie) => cookie.startsWith('soap_'));
  if (cookies.length) client.addHttpHeader('Cookie', cookies.join('; '));
  return cookies.map((cookie) => cookie.split('=')[0]);
}

function pairs(map) {
  return Object.fromEntries(list(map && map.pair)
    .map((p) => [p.key, p.value === undefined ? null : p.value]));
}

const subprofiles = (result) => list(result.items && result.items.subprofile)
  .map((s) => ({ id: num(s.id), fields: pairs(s.fields) }));

async function login(client) {
  const value = (await call(client, 'login',
    { username: USER, account: 'Shop', password: PASSWORD })).value;
  return { value, cookies: keepSession(client) };
}

async function customers(client) {
  return (await call(client, 'Account_database', { identifier: 'Customers' })).database;
}

async function flow(client, email, product) {
  const report = {};
  step = 'Account_databases before login';
  try {
    await call(client, 'Account_databases', {});
    report.notLoggedOn = null;
  } catch (error) {
    const fault = error && error.root && error.root.Envelope && error.root.Envelope.Body &&
      error.root.Envelope.Body.Fault;
    if (!fault) throw error;
    report.notLoggedOn = fault.faultstring;
  }

  step = 'login';
  const session = await login(client);
  report.login = session.value;
  report.cookies = session.cookies;

  step = 'Account_databases';
  const databases = await call(client, 'Account_databases', { allproperties: true, start: 0 });
  report.databases = list(databases.items && databases.items.database).map((d) => d.name);

  step = 'Account_database';
  const database = await customers(client);
  report.database = database.name;
  const db = num(database.id);

  step = 'Database_fields';
  const fields = await call(client, 'Database_fields', { id: db, allproperties: true });
  report.fields = list(fields.items && fields.items.field).map((f) => f.name);

  step = 'Database_createProfile';
  const profile = (await call(client, 'Database_createProfile', {
    fields: { pair: [{ key: 'Email', value: email }, { key: 'FirstName', value: 'Jörg' },
                     { key: 'City', value: 'Köln' }] },
    id: db,
  })).profile;
  report.profile = num(profile.id);
  report.code = profile.code;

  step = 'Database_searchProfiles';
  const found = await call(client, 'Database_searchProfiles', {
    allproperties: true,
    requirements: { requirement: [
      { value: email, operator: '=', fieldname: 'Email', casesensitive: false }] },
    id: db,
  });
  report.search = {
    total: num(found.total),
    profiles: list(found.items && found.items.profile)
      .map((p) => ({ id: num(p.id), fields: pairs(p.fields) })),
  };

  step = 'Profile_updateFields';
  report.updated = (await call(client, 'Profile_updateFields', {
    fields: { pair: [{ value: 'Berlin', key: 'City' }] }, id: report.profile,
  })).value;

  step = 'Database_collection';
  const collection = (await call(client, 'Database_collection',
    { identifier: 'Orders', id: db })).collection;
  report.collection = collection.name;
  const reference = { id: num(collection.id) };

  step = 'Profile_createSubProfile';
  const sub = (await call(client, 'Profile_createSubProfile', {
    fields: { pair: [{ key: 'OrderNo', value: '2001' }, { key: 'Product', value: product }] },
    collection: reference,
    id: report.profile,
  })).subprofile;
  report.subprofile = num(sub.id);

  step = 'Profile_subProfiles';
  report.subProfiles = subprofiles(await call(client, 'Profile_subProfiles', {
    collection: reference, allproperties: true, id: report.profile,
  }));

  step = 'Collection_searchSubProfiles';
  report.searchSubProfiles = subprofiles(await call(client, 'Collection_searchSubProfiles', {
    allproperties: true,
    requirements: { requirement: [{ operator: '=', value: product, fieldname: 'Product' }] },
    id: reference.id,
  }));
  return report;
}

async function remove(client, id, email) {
  const report = {};
  step = 'login';
  report.login = (await login(client)).value;
  step = 'Account_database';
  const db = num((await customers(client)).id);
  step = 'Profile_remove';
  report.removed = (await call(client, 'Profile_remove', { id })).value;
  step = 'Database_searchProfiles after Profile_remove';
  report.total = num((await call(client, 'Database_searchProfiles', {
    requirements: { requirement: [{ value: email, operator: '=', fieldname: 'Email' }] }, id: db,
  })).total);
  return report;
}

async function main() {
  const [wsdl, endpoint, mode, ...args] = process.argv.slice(2);
  let report;
  try {
    const client = await soap.createClientAsync(wsdl, { endpoint });
    report = mode === 'flow' ? await flow(client, args[0], args[1])
                             : await remove(client, Number(args[0]), args[1]);
  } catch (error) {
    const fault = error && error.root && error.root.Envelope && error.root.Envelope.Body &&
      error.root.Envelope.Body.Fault;
    console.log(JSON.stringify({ failed: step, error: fault ? fault.faultstring : String(error) }));
    process.exit(2);
  }
  console.log(JSON.stringify(report));
}

main();
