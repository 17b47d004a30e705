<?php
// The vendor's example flow (soaptest.php) through a client written the way the vendor's
// PomSoapClient works, against the Copernica WSDL (rpc/literal): every call passes ONE object
// of parameters to SoapClient::__call and reads the Result's members (value, database, items…)
// straight from the return value. The class below is this project's own code.
// Usage: php tests/compat/copernica_flow.php BASE_URL cookie|token DATABASE_NAME
// "cookie" logs in first (SoapClient keeps the soap_ cookie); "token" sends access_token.
// Prints one JSON object; tests/compat/test_copernica_clients.py asserts on it.

class MockPomClient extends SoapClient
{
    private $token;

    public function __construct($base, $token = null)
    {
        $this->token = $token;
        parent::__construct($base . '?SOAPAPI=WSDL', ['soap_version' => SOAP_1_1,
            'trace' => true, 'cache_wsdl' => WSDL_CACHE_NONE]);
    }

    // $client->Method(['id' => 1, 'fields' => ['Email' => …]]): an associative array becomes a
    // map (pair list), a list becomes its singular wrapper (requirements => requirement[]),
    // objects (e.g. a collection returned earlier, used as a reference) go as they are.
    public function __call($methodname, $args)
    {
        $params = new stdClass();
        foreach ($args[0] ?? [] as $key => $value) $params->$key = $this->encode($key, $value);
        if ($this->token !== null) $params->access_token = $this->token;
        return parent::__call($methodname, array($params));
    }

    private function encode($key, $value)
    {
        if (!is_array($value)) return $value;
        if (array_is_list($value)) {
            $items = array_map(fn($item) => is_array($item) ? (object) $item : $item, $value);
            return [rtrim($key, 's') => $items];
        }
        $pairs = [];
        foreach ($value as $k => $v) $pairs[] = (object) ['key' => $k, 'value' => $v];
        return (object) ['pair' => $pairs];
    }
}

$base = $argv[1]; $mode = $argv[2]; $name = $argv[3];
$client = new MockPomClient($base, $mode === 'token' ? 'shop-token-rw' : null);
$report = [];
if ($mode === 'cookie') {
    $report['login'] = $client->login(['username' => 'api@shop.example',
                                       'password' => 's3cret'])->value;
    $report['cookies'] = array_keys($client->__getCookies());
}
$found = $client->Account_database(['identifier' => $name]);
if (is_object($found->database ?? null)) $client->Database_remove(['id' => $found->database->id]);
$database = $client->Account_createDatabase(['name' => $name])->database;
$client->Database_createField(['id' => $database->id, 'name' => 'Email', 'type' => 'text',
                               'specialcontent' => 'email']);
$client->Database_createField(['id' => $database->id, 'name' => 'Firstname']);
$client->Database_createField(['id' => $database->id, 'name' => 'Lastname']);
$collection = $client->Database_createCollection(['id' => $database->id, 'name' => 'Orders'])
    ->collection;
$client->Collection_createField(['id' => $collection->id, 'name' => 'Product']);
$profile = $client->Database_createProfile(['id' => $database->id, 'fields' => [
    'Email' => 'php@example.com', 'Firstname' => 'Jörg', 'Lastname' => "O'Brien"]])->profile;
$sub = $client->Profile_createSubProfile(['id' => $profile->id, 'collection' => $collection,
    'fields' => ['Product' => 'Book']])->subprofile;
$search = $client->Database_searchProfiles(['id' => $database->id, 'requirements' => [
    ['fieldname' => 'Email', 'value' => 'php@example.com', 'operator' => '=']]]);
$items = $search->items->profile ?? [];
if (!is_array($items)) $items = [$items];
$updated = [];
foreach ($items as $item) {
    $updated[] = $client->Profile_updateFields(['id' => $item->id,
        'fields' => ['Firstname' => 'Jane']])->value;
}
$report += ['database' => $database->id, 'profile' => $profile->id, 'code' => $profile->code,
            'subprofile' => $sub->id, 'found' => array_map(fn($p) => $p->id, $items),
            'total' => $search->total, 'updated' => $updated,
            'request' => $client->__getLastRequest()];
echo json_encode($report), "\n";
