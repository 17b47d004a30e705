<?php
// BACKCLICK SOAP API v2 round trip with PHP's SoapClient, as the vendor's examples call it.
// Usage: php -d soap.wsdl_cache_enabled=0 roundtrip.php WSDL_URL roundtrip|fault|send EMAIL
//        php -d soap.wsdl_cache_enabled=0 roundtrip.php WSDL_URL stats NEWSLETTER_ID
// Prints one JSON object with what the client saw; tests/compat/test_php_soapclient.py asserts
// on it. "roundtrip": save, read, relation, unsubscribe, relation. "fault": a wrong API key.
// "send": a newsletter to list 1, a transaction channel, a transaction mail to EMAIL with a
// binary attachment. "stats": NewsletterStatistic and BackclickStatistic of a newsletter.

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

/** The attachment's bytes: a PDF header and every byte value 0..255 (a binary string). */
function attachment_bytes()
{
    $bytes = "%PDF-1.4\n";
    for ($i = 0; $i < 256; $i++) {
        $bytes .= chr($i);
    }
    return $bytes;
}

/** sendNewsletterToList to list 1, createTransactionChannel, sendTransactionMail: the ids. */
function send($client, $email)
{
    $newsletter = new stdClass();
    $newsletter->mandatorId = 1;
    $newsletter->apiKey = 'shop-key-1234';
    $newsletter->newsletterListId = 1;
    $newsletter->subject = 'PHP news for $$FIRSTNAME$$';
    $newsletter->newsletterContent = '<p>Hello $$FIRSTNAME$$, <a href="https://shop.example/php">'
        . 'see the offer</a></p>';
    $newsletter->alternativeContent = 'Hello $$FIRSTNAME$$, see https://shop.example/php';
    $newsletter->senderName = 'Shop';
    $newsletter->senderEmail = 'news@shop.example';
    $newsletterId = $client->sendNewsletterToList($newsletter)->newsletterId;

    $channel = new stdClass();
    $channel->mandatorId = 1;
    $channel->apiKey = 'shop-key-1234';
    $channel->channelName = 'PHP orders';
    $channel->channelDescription = 'Invoices sent by the PHP client';
    $channelId = $client->createTransactionChannel($channel)->channelId;

    $firstname = new stdClass();
    $firstname->name = 'FIRSTNAME';
    $firstname->value = 'Jörg';
    $recipient = new stdClass();
    $recipient->emailAddress = $email;
    $recipient->subscriberFields = array($firstname);
    $attachment = new stdClass();
    $attachment->name = 'php-invoice.pdf';
    $attachment->data = attachment_bytes();  // ext-soap base64-encodes xsd:base64Binary itself

    $mail = new stdClass();
    $mail->mandatorId = 1;
    $mail->apiKey = 'shop-key-1234';
    $mail->channelId = $channelId;
    $mail->subject = 'Invoice for $$FIRSTNAME$$';
    $mail->senderEmail = 'orders@shop.example';
    $mail->senderName = 'Shop Orders';
    $mail->mailContent = '<p>Dear $$FIRSTNAME$$, your invoice is attached.</p>';
    $mail->alternativeMailContent = 'Dear $$FIRSTNAME$$, your invoice is attached.';
    $mail->recipient = $recipient;
    $mail->attachments = array($attachment);
    $transactionId = $client->sendTransactionMail($mail)->transactionId;

    return array('newsletterId' => $newsletterId, 'channelId' => $channelId,
                 'transactionId' => $transactionId);
}

/** NewsletterStatistic and BackclickStatistic of one newsletter, every member as plain data. */
function stats($client, $newsletterId)
{
    $request = new stdClass();
    $request->mandatorId = 1;
    $request->apiKey = 'shop-key-1234';
    $request->newsletterIds = array((int) $newsletterId);
    $newsletter = array();
    foreach (items($client->NewsletterStatistic($request)->newsletterStatistics ?? null) as $row) {
        $newsletter[] = get_object_vars($row);
    }
    $backclick = array();
    foreach (items($client->BackclickStatistic($request)->backclickStatistic ?? null) as $row) {
        $backclick[] = get_object_vars($row);
    }
    return array('newsletter' => $newsletter, 'backclick' => $backclick);
}

$modes = array('roundtrip', 'fault', 'send', 'stats');
if ($argc !== 4 || !in_array($argv[2], $modes, true)) {
    fwrite(STDERR, "usage: php roundtrip.php WSDL_URL roundtrip|fault|send EMAIL\n"
                 . "       php roundtrip.php WSDL_URL stats NEWSLETTER_ID\n");
    exit(2);
}
list(, $wsdl, $mode, $email) = $argv;
$client = new SoapClient($wsdl, array('trace' => 1, 'exceptions' => true));
switch ($mode) {
    case 'fault':
        $out = fault($client, $email);
        break;
    case 'send':
        $out = send($client, $email);
        break;
    case 'stats':
        $out = stats($client, $email);
        break;
    default:
        $out = roundtrip($client, $email);
}
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT), "\n";
