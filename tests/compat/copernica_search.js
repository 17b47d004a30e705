// A Copernica search with requirements through node-soap (rpc/literal: the call takes
// {parameters: {...}}, the answer's part is .result).
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
  // With an rpc/literal WSDL node-soap writes a part's members in the object's key order (and
  // unqualified), so they are given in the order input_Database_searchProfiles declares.
  const result = await call('Database_searchProfiles', {
    allproperties: true,
    id: db,
    requirements: { requirement: [
      { fieldname: 'City', operator: '=', value: 'amsterdam' },
      { fieldname: 'Age', operator: '>=', value: '30' },
    ] },
    order: 'Age', asc: false,
  });
  let profiles = (result.items && result.items.profile) || [];
  if (!Array.isArray(profiles)) profiles = [profiles];
  const fields = (p) => Object.fromEntries([].concat(p.fields.pair).map((x) => [x.key, x.value]));
  console.log(JSON.stringify({ total: result.total, names: profiles.map((p) => fields(p).FirstName) }));
}

main().catch((error) => { console.error(error); process.exit(1); });
