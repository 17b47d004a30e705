<?php
// The vendor's example flow (soaptest.php) with PHP's SoapClient against the Copernica WSDL.
// Usage: php tests/compat/copernica_flow.php BASE_URL cookie|token DATABASE_NAME
// "cookie" logs in first (SoapClient keeps the soap_ cookie); "token" sends access_token.
// Prints one JSON object; tests/compat/test_copernica_clients.py asserts on it.
$base = $argv[1]; $mode = $argv[2]; $name = $argv[3];
$client = new SoapClient($base . '?SOAPAPI=WSDL', ['soap_version' => SOAP_1_1, 'trace' => true,
                                                   'cache_wsdl' => WSDL_CACHE_NONE]);
$report = [];
function call($client, $mode, $method, $params) {
    if ($mode === 'token') $params['access_token'] = 'shop-token-rw';
    return $client->__soapCall($method, [['parameters' => $params]])->result;
}
function pairs($values) {
    $out = [];
    foreach ($values as $k => $v) $out[] = ['key' => $k, 'value' => $v];
    return ['pair' => $out];
}
if ($mode === 'cookie') {
    $report['login'] = call($client, $mode, 'login',
                            ['username' => 'api@shop.example', 'password' => 's3cret'])->value;
    $report['cookies'] = array_keys($client->__getCookies());
}
$found = call($client, $mode, 'Account_database', ['identifier' => $name]);
if (isset($found->database)) call($client, $mode, 'Database_remove', ['id' => $found->database->id]);
$db = call($client, $mode, 'Account_createDatabase', ['name' => $name])->database->id;
call($client, $mode, 'Database_createField', ['id' => $db, 'name' => 'Email', 'type' => 'text',
                                              'specialcontent' => 'email']);
call($client, $mode, 'Database_createField', ['id' => $db, 'name' => 'Firstname']);
call($client, $mode, 'Database_createField', ['id' => $db, 'name' => 'Lastname']);
$col = call($client, $mode, 'Database_createCollection', ['id' => $db, 'name' => 'Orders'])
    ->collection->id;
call($client, $mode, 'Collection_createField', ['id' => $col, 'name' => 'Product']);
$profile = call($client, $mode, 'Database_createProfile', ['id' => $db, 'fields' => pairs(
    ['Email' => 'php@example.com', 'Firstname' => 'Jörg', 'Lastname' => "O'Brien"])])->profile;
$sub = call($client, $mode, 'Profile_createSubProfile', ['id' => $profile->id,
    'collection' => ['id' => $col], 'fields' => pairs(['Product' => 'Book'])])->subprofile;
$search = call($client, $mode, 'Database_searchProfiles', ['id' => $db, 'requirements' => [
    'requirement' => [['fieldname' => 'Email', 'value' => 'php@example.com', 'operator' => '=']]]]);
$items = $search->items->profile ?? [];
if (!is_array($items)) $items = [$items];
$updated = [];
foreach ($items as $item) {
    $updated[] = call($client, $mode, 'Profile_updateFields', ['id' => $item->id,
        'fields' => pairs(['Firstname' => 'Jane'])])->value;
}
$report += ['database' => $db, 'profile' => $profile->id, 'code' => $profile->code,
            'subprofile' => $sub->id, 'found' => array_map(fn($p) => $p->id, $items),
            'total' => $search->total, 'updated' => $updated];
echo json_encode($report), "\n";
