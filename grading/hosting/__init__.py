"""The hosting routes: where submissions come from and grades go to (a JupyterHub, LTI 1.3, an LMS's files).

- hub: the course on a JupyterHub: accounts, exchange and course set up; collect and grade there
- collect: nbgrader collect that decides who, when and what from the exchange's owners, change times and file types
- lti_keys: the tool's RSA key and its public JWKS
- lti: LTI 1.3 settings (c.Lti), usernames from launches, grade passback (AGS, NRPS)
- lti_hub: the hub's side of an LTI launch (jupyterhub-ltiauthenticator): refusals, accounts, roles, JWKS
- lms: courses without a hub: an LMS bulk download in (nbgrader zip_collect, every entry judged and
  size-bounded before it is unpacked), the LMS grades files out
- lms_names: whose file an LMS download's entry is, by Canvas's and Moodle's own naming rules

The top layer: may import any other folder; nothing imports it.
"""
