"""The Python server sample of how-to-connect.md ("Connect server to Azure Web PubSub") run
against the server as a child process (issue 3 acceptance): samples/server-python-sdk.py with only
{Endpoint}, {AccessKey} and {HubName} filled in. Its build_send_to_all_request helper is from an
older SDK; the file uses the installed SDK's equivalent, send_to_all (see its comments). A
connected JSON client and a simple client must receive the broadcast."""
import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path

from rest_helpers import TIMEOUT, JsonClient, connect_simple, run, service_client

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def test_python_server_sample_sends_to_all(server, tmp_path):
    hub = "pysample"
    source = (SAMPLES / "server-python-sdk.py").read_text()
    values = {"{Endpoint}": f"http://localhost:{server.port}", "{AccessKey}": server.key, "{HubName}": hub}
    for placeholder, value in values.items():
        assert placeholder in source, placeholder
        source = source.replace(placeholder, value)
    sample = tmp_path / "server-python-sdk.py"
    sample.write_text(source)
    service = service_client(server, hub)

    async def scenario():
        async with contextlib.AsyncExitStack() as stack:
            a = await JsonClient.connect(service, stack, user_id="listener")
            simple = await connect_simple(service, stack)
            proc = await asyncio.to_thread(
                subprocess.run, [sys.executable, str(sample)], capture_output=True, text=True, timeout=20)
            assert proc.returncode == 0, f"sample failed:\n{proc.stdout}\n{proc.stderr}"
            assert await a.next_data() == {"type": "message", "from": "server", "dataType": "json",
                                           "data": {"Hello": "webpubsub!"}}
            frame = await asyncio.wait_for(simple.recv(), TIMEOUT)
            assert isinstance(frame, str) and json.loads(frame) == {"Hello": "webpubsub!"}

    run(scenario())
