# The Python "Connect server to Azure Web PubSub" sample of how-to-connect.md, run by
# python/test_rest_samples.py with only {Endpoint}, {AccessKey} and {HubName} (the parts of the
# connection string, and the hub) filled in. Adaptations for Debian's
# azure.messaging.webpubsubservice 1.1.0b1 (everything else is the document's code):
#   - the document imports build_send_to_all_request from azure.messaging.webpubsubservice.rest,
#     a module of an older SDK that no longer exists; the installed SDK's equivalent is the
#     send_to_all operation, called below with the same JSON message;
#   - the installed client takes the hub in its constructor (hub=...), not per request.
from azure.messaging.webpubsubservice import WebPubSubServiceClient
from azure.core.credentials import AzureKeyCredential

client = WebPubSubServiceClient(endpoint='{Endpoint}', hub='{HubName}', credential=AzureKeyCredential('{AccessKey}'))

# document: request = build_send_to_all_request('{HubName}', json={ 'Hello':  'webpubsub!' })
#           response = client.send_request(request)
client.send_to_all(message={ 'Hello':  'webpubsub!' })
