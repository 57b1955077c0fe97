"""The domain's records and rules, pure: a run and its state machine (`TRANSITIONS`), a
command's result, an agent's identity and what an agent may do (the seed's delegation
rules), a coder's evidence, a post-mortem. They import nothing of chatops but planning
(runbooks and plans, pure too) and errors; the ports and the services build on them.
"""
