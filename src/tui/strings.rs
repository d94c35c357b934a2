//! Every word the console shows, in one place so wording can be reviewed together.
