// A Copernica search with requirements through node-soap.
// Usage: node tests/compat/copernica_search.js BASE_URL TOKEN
// Prints one JSON object; tests/compat/test_copernica_clients.py asserts on it.
'use strict';
const soap = require('soap');

async function main() {
  const [base, token] = process.argv.slice(2);
  const client = await soap.createClientAsync(`${base}?SOAPAPI=WSDL`);
  const call = async (method, parameters) =>
    (await client[`${method}Async`]({ parameters: { ...parameters, access_token: token } }))[0].result;
  const db = (await call('Account_database', { identifier: 'Customers' })).database.id;
  const result = await call('Database_searchProfiles', {
    id: db, order: 'Age', asc: false, allproperties: true,
    requirements: { requirement: [
      { fieldname: 'City', value: 'amsterdam', operator: '=' },
      { fieldname: 'Age', value: '30', operator: '>=' },
    ] },
  });
  let profiles = (result.items && result.items.profile) || [];
  if (!Array.isArray(profiles)) profiles = [profiles];
  const fields = (p) => Object.fromEntries([].concat(p.fields.pair).map((x) => [x.key, x.value]));
  console.log(JSON.stringify({ total: result.total, names: profiles.map((p) => fields(p).FirstName) }));
}

main().catch((error) => { console.error(error); process.exit(1); });
