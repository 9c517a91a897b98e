import asyncio
import websockets

async def websocket_client():
    async with websockets.connect('Client_Access_URL') as websocket:
        name = input("What's your name? ")
        await websocket.send(name)
        print("> {}".format(name))

        greeting = await websocket.recv()
        print("< {}".format(greeting))

asyncio.get_event_loop().run_until_complete(websocket_client())
