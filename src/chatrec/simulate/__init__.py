"""``chatrec simulate``: scripted chats over the public protocol, for load tests and benchmarks.

- :mod:`~chatrec.simulate.client`: the protocol client (docs/protocol.md), also used by
  the benchmarks and the tests that talk to a real server;
- :mod:`~chatrec.simulate.plan`: the options and the seeded plan of each chat;
- :mod:`~chatrec.simulate.run` and :mod:`~chatrec.simulate.agents`: customers and
  agents acting on what the protocol shows them;
- :mod:`~chatrec.simulate.summary`: what happened, as text or JSON;
- :mod:`~chatrec.simulate.passwords`: where the agents' passwords come from.

Agents act on what the protocol shows them: they answer a customer message they see
unanswered, press Delete recording when they see the request, resume a pause they
find.  From the simulation they learn only the chat's plan and which scripted message
a text is, which tells them *when* to pause or transfer, as a script tells a tester.
"""
