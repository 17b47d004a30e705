<?php
// BACKCLICK SOAP API v2 round trip with PHP's SoapClient, as the vendor's examples call it.
// Usage: php -d soap.wsdl_cache_enabled=0 roundtrip.php WSDL_URL roundtrip|fault EMAIL
// Prints one JSON object with what the client saw; tests/compat/test_php_soapclient.py asserts
// on it. "roundtrip": save, read, relation, unsubscribe, relation. "fault": a wrong API key.

/** The members of a wrapped array: PHP turns a single <item> into an object, not an array. */
function items($wrapper)
{
    if ($wrapper === null || !isset($wrapper->item)) {
        return array();
    }
    return is_array($wrapper->item) ? $wrapper->item : array($wrapper->item);
}

/** A list relation as plain data. */
function relation($client, $email)
{
    $request = new stdClass();
    $request->mandatorId = 1;
    $request->apiKey = 'shop-key-1234';
    $request->newsletterListId = 0;
    $request->subscriberEmail = $email;
    $result = $client->getSubscriberToNewsletterListRelation($request);
    $lists = array();
    foreach (items($result->listInformations ?? null) as $info) {
        $lists[] = array('listId' => $info->listId, 'listName' => $info->listName,
                         'listDescription' => $info->listDescription,
                         'listStatus' => $info->listStatus);
    }
    return array('subscriberAvailable' => $result->subscriberAvailable, 'lists' => $lists);
}

/** saveOrCreateSubscriber of one subscriber on lists 1 and 2, with three fields. */
function save($client, $email, $apiKey)
{
    $firstname = new stdClass();
    $firstname->name = 'FIRSTNAME';
    $firstname->value = 'Jörg';
    $lastname = new stdClass();
    $lastname->name = 'LASTNAME';
    $lastname->value = "O'Brien & Söhne";
    $city = new stdClass();
    $city->name = 'CITY';
    $city->value = 'Köln';

    $subscriber = new stdClass();
    $subscriber->subscriberEmail = $email;
    $subscriber->newsletterListIds = array(1, 2);
    $subscriber->subscriberFields = array($firstname, $lastname, $city);

    $saveRequest = new stdClass();
    $saveRequest->mandatorId = 1;
    $saveRequest->apiKey = $apiKey;
    $saveRequest->listsAdditive = false;
    $saveRequest->subscribers = array($subscriber);
    return $client->saveOrCreateSubscriber($saveRequest);
}

/** The whole round trip, as plain data. */
function roundtrip($client, $email)
{
    $out = array();
    $saved = save($client, $email, 'shop-key-1234');
    $out['save'] = array('responseCode' => $saved->responseCode,
                         'invalid' => items($saved->invalidEmailAddresses ?? null),
                         'blocked' => items($saved->blockedEmailAddresses ?? null));

    // getSubscribers with fields (the vendor's example reads $result->subscribers->item).
    $getSubscribersRequest = new stdClass();
    $getSubscribersRequest->mandatorId = 1;
    $getSubscribersRequest->apiKey = 'shop-key-1234';
    $getSubscribersRequest->fillSubscriberFields = true;
    $getSubscribersRequest->emailAddresses = array($email);
    $result = $client->getSubscribers($getSubscribersRequest);
    $subscribers = array();
    foreach (items($result->subscribers ?? null) as $found) {
        $fields = array();
        foreach (items($found->subscriberFields ?? null) as $field) {
            $fields[$field->name] = $field->value ?? null;
        }
        $subscribers[] = array('subscriberEmail' => $found->subscriberEmail,
                               'status' => $found->status, 'mandatorId' => $found->mandatorId,
                               'newsletterListIds' => $found->newsletterListIds,
                               'fields' => $fields);
    }
    $out['subscribers'] = $subscribers;

    $out['relationBefore'] = relation($client, $email);

    $unsubscribeRequest = new stdClass();
    $unsubscribeRequest->mandatorId = 1;
    $unsubscribeRequest->apiKey = 'shop-key-1234';
    $unsubscribeRequest->subscriberEmail = $email;
    $unsubscribeRequest->newsletterListIds = array(2);
    $out['unsubscribe'] = $client->unsubscribeSubscriber($unsubscribeRequest)->responseCode;

    $out['relationAfter'] = relation($client, $email);
    return $out;
}

/** A call with a wrong API key: the SoapFault as plain data (null if none was thrown). */
function fault($client, $email)
{
    try {
        save($client, $email, 'wrong-key');
        return null;
    } catch (SoapFault $e) {
        return array('message' => $e->getMessage(), 'faultcode' => $e->faultcode,
                     'faultstring' => $e->faultstring);
    }
}

if ($argc !== 4 || !in_array($argv[2], array('roundtrip', 'fault'), true)) {
    fwrite(STDERR, "usage: php roundtrip.php WSDL_URL roundtrip|fault EMAIL\n");
    exit(2);
}
list(, $wsdl, $mode, $email) = $argv;
$client = new SoapClient($wsdl, array('trace' => 1, 'exceptions' => true));
$out = $mode === 'fault' ? fault($client, $email) : roundtrip($client, $email);
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT), "\n";
